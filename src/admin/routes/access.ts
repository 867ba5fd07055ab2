import type { FastifyInstance } from 'fastify';
import { parseRoles, type AccessService } from '../../access/service.js';
import { ROLES } from '../../access/roles.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import { NODE_WIDE } from '../../approvals/operations.js';
import { approvalHeader, gated } from '../gated.js';
import { publicRoute, routePermission } from '../permissions.js';

const userParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const tokenParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const roleList = { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 64 } } as const;
const password = { type: 'string', maxLength: 1024 } as const;

/** Login, users, roles and API tokens (docs/access.md). */
export async function accessRoutes(app: FastifyInstance, { access, gate }: { access: AccessService; gate: ApprovalGate }): Promise<void> {
  app.post<{ Body: { user: string; password: string } }>(
    '/auth/login',
    {
      config: publicRoute(),
      schema: {
        summary: 'Exchange a user name and password for an API token (12 hours)',
        body: {
          type: 'object',
          required: ['user', 'password'],
          additionalProperties: false,
          properties: { user: { type: 'string', maxLength: 64 }, password },
        },
      },
    },
    async (request, reply) => {
      const { token, view } = await access.login(request.body.user, request.body.password);
      return reply.code(201).send({ token, id: view.id, user: view.user, expiresAt: view.expiresAt });
    },
  );

  app.get(
    '/roles',
    { config: routePermission('users:read'), schema: { summary: 'List the built-in roles and their permissions' } },
    async () => Object.entries(ROLES).map(([name, role]) => ({ name, description: role.description, permissions: role.permissions })),
  );

  app.get('/users', { config: routePermission('users:read'), schema: { summary: 'List users' } }, async () => access.listUsers());

  app.post<{ Body: { name: string; password: string; roles?: string[] } }>(
    '/users',
    {
      config: routePermission('users:manage'),
      schema: {
        summary: 'Create a user; roles given here go through the role.change approval policy',
        body: {
          type: 'object',
          required: ['name', 'password'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 64 }, password, roles: roleList },
        },
      },
    },
    async (request, reply) => {
      const { name, roles = [] } = request.body;
      parseRoles(roles);
      const user = await access.createUser(request.body, request.actor!);
      if (roles.length === 0) return reply.code(201).send({ user });
      const outcome = await gate.run(
        {
          operation: 'role.change',
          group: NODE_WIDE,
          params: { user: name, roles },
          summary: `give user ${name} the roles ${roles.join(', ')}`,
        },
        request.actor!,
      );
      return reply.code(201).send(outcome.kind === 'pending' ? { user, approval: outcome.approval } : { user: outcome.result });
    },
  );

  app.get<{ Params: { name: string } }>(
    '/users/:name',
    { config: routePermission('users:read'), schema: { summary: 'Show a user', params: userParams } },
    async (request) => access.showUser(request.params.name),
  );

  app.put<{ Params: { name: string }; Body: { roles: string[] } }>(
    '/users/:name/roles',
    {
      config: routePermission('users:manage'),
      schema: {
        summary: "Replace a user's roles (approval operation role.change, node-wide policy)",
        params: userParams,
        body: { type: 'object', required: ['roles'], additionalProperties: false, properties: { roles: roleList } },
      },
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
    app.post<{ Params: { name: string } }>(
      `/users/:name/${action}`,
      {
        config: routePermission('users:manage'),
        schema: {
          summary: `${action === 'disable' ? 'Disable' : 'Enable'} a user (their tokens stop or resume working)`,
          params: userParams,
        },
      },
      async (request) => access.setDisabled(request.params.name, action === 'disable', request.actor!),
    );
  }

  app.put<{ Params: { name: string }; Body: { password: string } }>(
    '/users/:name/password',
    {
      config: routePermission('users:manage'),
      schema: {
        summary: "Set a user's password",
        params: userParams,
        body: { type: 'object', required: ['password'], additionalProperties: false, properties: { password } },
      },
    },
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

  app.get<{ Querystring: { user?: string } }>(
    '/tokens',
    {
      config: routePermission('users:read'),
      schema: {
        summary: 'List API tokens (never the tokens themselves)',
        querystring: { type: 'object', properties: { user: { type: 'string' } } },
      },
    },
    async (request) => access.listTokens(request.query.user),
  );

  app.post<{ Body: { name: string; user?: string; role?: string; ttlHours?: number } }>(
    '/tokens',
    {
      config: routePermission('users:manage'),
      schema: {
        summary: 'Create an API token for a user or a role (service token); the token is shown once',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 64 },
            user: { type: 'string', maxLength: 64 },
            role: { type: 'string', maxLength: 64 },
            ttlHours: { type: 'number' },
          },
        },
      },
    },
    async (request, reply) => {
      const { name, user, role } = request.body;
      await access.checkToken(request.body);
      const summary = `create token "${name}" for ${user === undefined ? `role ${role}` : `user ${user}`}`;
      const outcome = await gate.run(
        { operation: 'token.create', group: NODE_WIDE, params: request.body, summary },
        request.actor!,
        approvalHeader(request),
      );
      if (outcome.kind === 'pending') return reply.code(202).send({ approval: outcome.approval });
      const { token, view } = outcome.result as Awaited<ReturnType<AccessService['createToken']>>;
      return reply.code(201).send({ token, ...view });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/tokens/:id',
    { config: routePermission('users:manage'), schema: { summary: 'Revoke an API token', params: tokenParams } },
    async (request) => access.revokeToken(request.params.id, request.actor!),
  );

  app.post(
    '/tokens/bootstrap/retire',
    {
      config: routePermission('users:manage'),
      schema: { summary: 'Delete the bootstrap token from init (needs an active administrator user)' },
    },
    async (request) => access.retireBootstrap(request.actor!),
  );
}
