import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { attachTargetHint } from '../../policies/document.js';
import type { PolicyService } from '../../policies/service.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import type { PolicyEdit } from '../../approvals/executors.js';
import { gated } from '../gated.js';
import { routePermission } from '../permissions.js';

/** What the policy routes are built with. */
export interface PolicyRouteOptions {
  policies: PolicyService;
  /** Every edit goes through quorum approval (`policy.edit`) when a group it touches requires it. */
  gate: ApprovalGate;
}

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });
const GroupParams = Type.Object({ group: Type.String({ minLength: 1, maxLength: 63 }) });

/**
 * Bodies the policy service validates itself (src/policies/document.ts), with one-line errors naming the
 * bad field. Fastify's validator would instead coerce types (and without removeAdditional: false, drop
 * unknown fields), so a typo such as "principals" could vanish silently; here the route only requires an
 * object (which is all the static type claims).
 */
const ServiceValidatedObject = Type.Unsafe<Record<string, unknown>>({ type: 'object' });

const SimulateBody = Type.Object({
  keystore: Type.String({ minLength: 1, maxLength: 63 }),
  keyId: Type.String({ minLength: 1, maxLength: 128 }),
  operation: Type.Enum(['Encrypt', 'Decrypt', 'GetKeyMetadata'], { type: 'string' }),
  requestMetadata: Type.Optional(ServiceValidatedObject),
});

const DefaultBody = Type.Object({ default: Type.Enum(['allow', 'deny'], { type: 'string' }) }, { additionalProperties: false });

/** Policies over requestMetadata (docs/policies.md): documents, attachments, group defaults, simulate. */
export const policyRoutes: FastifyPluginCallback<PolicyRouteOptions> = (instance: FastifyInstance, { policies, gate }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  /** Runs an edit through quorum approval when one of the groups it touches requires it. */
  const edit = async (request: FastifyRequest, reply: FastifyReply, params: PolicyEdit, groups: string[], summary: string, status = 200) =>
    gated(request, reply, gate, { operation: 'policy.edit', group: await gate.pickGroup(groups, 'policy.edit'), params, summary }, status);

  app.get('/policies', { config: routePermission('policies:read') }, () => policies.list());

  app.post('/policies', { config: routePermission('policies:write'), schema: { body: ServiceValidatedObject } }, async (request, reply) =>
    edit(
      request,
      reply,
      { edit: 'create', document: request.body },
      await policies.groupsAffected(undefined, attachTargetHint(request.body.attach)),
      `create policy ${String(request.body.name)}`,
      201,
    ),
  );

  app.post('/policies/simulate', { config: routePermission('policies:simulate'), schema: { body: SimulateBody } }, (request) =>
    policies.simulate(request.body),
  );

  app.get('/policies/:name', { config: routePermission('policies:read'), schema: { params: NameParams } }, (request) =>
    policies.show(request.params.name),
  );

  app.put(
    '/policies/:name',
    { config: routePermission('policies:write'), schema: { params: NameParams, body: ServiceValidatedObject } },
    async (request, reply) => {
      const { name } = request.params;
      return edit(
        request,
        reply,
        { edit: 'update', name, document: request.body },
        await policies.groupsAffected(name, attachTargetHint(request.body.attach)),
        `update policy ${name}`,
      );
    },
  );

  app.delete('/policies/:name', { config: routePermission('policies:write'), schema: { params: NameParams } }, async (request, reply) => {
    const { name } = request.params;
    return edit(request, reply, { edit: 'remove', name }, await policies.groupsAffected(name), `delete policy ${name}`);
  });

  app.post(
    '/policies/:name/attach',
    { config: routePermission('policies:write'), schema: { params: NameParams, body: ServiceValidatedObject } },
    async (request, reply) => {
      const { name } = request.params;
      return edit(
        request,
        reply,
        { edit: 'attach', name, target: request.body },
        await policies.groupsAffected(name, attachTargetHint(request.body)),
        `attach policy ${name}`,
      );
    },
  );

  app.post(
    '/policies/:name/detach',
    { config: routePermission('policies:write'), schema: { params: NameParams } },
    async (request, reply) => {
      const { name } = request.params;
      return edit(request, reply, { edit: 'detach', name }, await policies.groupsAffected(name), `detach policy ${name}`);
    },
  );

  app.get('/policy-defaults', { config: routePermission('policies:read') }, () => policies.listGroupDefaults());

  app.put(
    '/policy-defaults/:group',
    { config: routePermission('policies:write'), schema: { params: GroupParams, body: DefaultBody } },
    async (request, reply) => {
      const { group } = request.params;
      return edit(
        request,
        reply,
        { edit: 'set-default', group, default: request.body.default },
        [group],
        `set the policy default of group ${group} to ${request.body.default}`,
      );
    },
  );

  done();
};
