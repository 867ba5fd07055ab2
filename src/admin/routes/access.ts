import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AccessService, IssuedToken } from '../../access/service.js';
import { parseRoles, ROLES } from '../../access/roles.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import { NODE_WIDE } from '../../approvals/operations.js';
import { approvalHeader, gated } from '../gated.js';
import { authenticatedRoute, publicRoute, requestActor, routePermission } from '../permissions.js';

/** What the access routes are built with. */
export interface AccessRouteOptions {
  access: AccessService;
  /** Role changes, token creation and password changes go through the node-wide approval policy. */
  gate: ApprovalGate;
}

const UserParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
const TokenParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const RoleList = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16 });
const Password = Type.String({ maxLength: 1024 });

const LoginBody = Type.Object({ user: Type.String({ maxLength: 64 }), password: Password }, { additionalProperties: false });
const NewUserBody = Type.Object(
  { name: Type.String({ maxLength: 64 }), password: Password, roles: Type.Optional(RoleList) },
  { additionalProperties: false },
);
const RolesBody = Type.Object({ roles: RoleList }, { additionalProperties: false });
const PasswordBody = Type.Object({ password: Password }, { additionalProperties: false });
const TokensQuery = Type.Object({ user: Type.Optional(Type.String()) });
const NewTokenBody = Type.Object(
  {
    name: Type.String({ maxLength: 64 }),
    user: Type.Optional(Type.String({ maxLength: 64 })),
    role: Type.Optional(Type.String({ maxLength: 64 })),
    ttlHours: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);

const WhoAmI = Type.Object(
  {
    kind: Type.Enum(['user', 'token'], { type: 'string' }),
    name: Type.String(),
    roles: Type.Array(Type.String()),
    permissions: Type.Array(Type.String()),
  },
  { additionalProperties: false, description: 'Who the bearer token stands for, and what it may do' },
);

/** A token.create result (the access service's IssuedToken), checked before its fields are sent. */
const isIssuedToken = (result: unknown): result is IssuedToken =>
  typeof result === 'object' && result !== null && 'token' in result && typeof result.token === 'string' && 'view' in result;

/** Login, users, roles and API tokens (docs/access.md). */
export const accessRoutes: FastifyPluginCallback<AccessRouteOptions> = (instance: FastifyInstance, { access, gate }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/auth/login',
    { config: publicRoute(), schema: { summary: 'Exchange a user name and password for an API token (12 hours)', body: LoginBody } },
    async (request, reply) => {
      const { token, view } = await access.login(request.body.user, request.body.password);
      return reply.code(201).send({ token, id: view.id, user: view.user, expiresAt: view.expiresAt });
    },
  );

  // The web console asks this after login to enable what the caller may do (and say why the rest is not).
  app.get(
    '/auth/whoami',
    {
      config: authenticatedRoute(),
      schema: { summary: 'Who the bearer token stands for: user or service token, its roles and permissions', response: { 200: WhoAmI } },
    },
    (request) => {
      const { kind, name, roles, permissions } = requestActor(request);
      return { kind, name, roles: [...roles], permissions: [...permissions].sort() };
    },
  );

  app.get('/roles', { config: routePermission('users:read'), schema: { summary: 'List the built-in roles and their permissions' } }, () =>
    Object.entries(ROLES).map(([name, role]) => ({ name, description: role.description, permissions: role.permissions })),
  );

  app.get('/users', { config: routePermission('users:read'), schema: { summary: 'List users' } }, () => access.listUsers());

  app.post(
    '/users',
    {
      config: routePermission('users:manage'),
      schema: { summary: 'Create a user; roles given here go through the role.change approval policy', body: NewUserBody },
    },
    async (request, reply) => {
      const { name, password, roles = [] } = request.body;
      parseRoles(roles);
      const actor = requestActor(request);
      const user = await access.createUser({ name, password }, actor);
      if (roles.length === 0) return reply.code(201).send({ user });
      const outcome = await gate.run(
        {
          operation: 'role.change',
          group: NODE_WIDE,
          params: { user: name, roles },
          summary: `give user ${name} the roles ${roles.join(', ')}`,
        },
        actor,
      );
      return reply.code(201).send(outcome.kind === 'pending' ? { user, approval: outcome.approval } : { user: outcome.result });
    },
  );

  app.get('/users/:name', { config: routePermission('users:read'), schema: { summary: 'Show a user', params: UserParams } }, (request) =>
    access.showUser(request.params.name),
  );

  app.put(
    '/users/:name/roles',
    {
      config: routePermission('users:manage'),
      schema: { summary: "Replace a user's roles (approval operation role.change, node-wide policy)", params: UserParams, body: RolesBody },
    },
    async (request, reply) => {
      const { name } = request.params;
      const roles = await access.checkRoles(name, request.body.roles);
      return gated(request, reply, gate, {
        operation: 'role.change',
        group: NODE_WIDE,
        params: { user: name, roles },
        summary: `set the roles of user ${name} to ${roles.join(', ') || '(none)'}`,
      });
    },
  );

  for (const action of ['disable', 'enable'] as const) {
    app.post(
      `/users/:name/${action}`,
      {
        config: routePermission('users:manage'),
        schema: {
          summary: `${action === 'disable' ? 'Disable' : 'Enable'} a user (their tokens stop or resume working)`,
          params: UserParams,
        },
      },
      (request) => access.setDisabled(request.params.name, action === 'disable', requestActor(request)),
    );
  }

  app.put(
    '/users/:name/password',
    { config: routePermission('users:manage'), schema: { summary: "Set a user's password", params: UserParams, body: PasswordBody } },
    async (request, reply) => {
      const { name } = request.params;
      await access.checkPassword(name, request.body.password);
      return gated(request, reply, gate, {
        operation: 'user.passwd',
        group: NODE_WIDE,
        params: { user: name, password: request.body.password },
        summary: `set the password of user ${name}`,
      });
    },
  );

  app.get(
    '/tokens',
    {
      config: routePermission('users:read'),
      schema: { summary: 'List API tokens (never the tokens themselves)', querystring: TokensQuery },
    },
    (request) => access.listTokens(request.query.user),
  );

  app.post(
    '/tokens',
    {
      config: routePermission('users:manage'),
      schema: { summary: 'Create an API token for a user or a role (service token); the token is shown once', body: NewTokenBody },
    },
    async (request, reply) => {
      const { name, user, role } = request.body;
      await access.checkToken(request.body);
      const summary = `create token "${name}" for ${user === undefined ? `role ${role}` : `user ${user}`}`;
      const outcome = await gate.run(
        { operation: 'token.create', group: NODE_WIDE, params: request.body, summary },
        requestActor(request),
        approvalHeader(request),
      );
      if (outcome.kind === 'pending') return reply.code(202).send({ approval: outcome.approval });
      if (!isIssuedToken(outcome.result)) throw new Error('token.create returned no token');
      const { token, view } = outcome.result;
      return reply.code(201).send({ token, ...view });
    },
  );

  app.delete(
    '/tokens/:id',
    { config: routePermission('users:manage'), schema: { summary: 'Revoke an API token', params: TokenParams } },
    (request) => access.revokeToken(request.params.id, requestActor(request)),
  );

  app.post(
    '/tokens/bootstrap/retire',
    {
      config: routePermission('users:manage'),
      schema: { summary: 'Delete the bootstrap token from init (needs an active administrator user)' },
    },
    (request) => access.retireBootstrap(requestActor(request)),
  );

  done();
};
