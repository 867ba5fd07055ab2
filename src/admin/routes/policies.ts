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

/** An edit's one-line summary, as approvers see it. */
function summaryOf(p: PolicyEdit): string {
  switch (p.edit) {
    case 'create':
      return `create policy ${String(documentHints(p.document).name)}`;
    case 'remove':
      return `delete policy ${p.name}`;
    case 'set-default':
      return `set the policy default of group ${p.group} to ${p.default}`;
    default:
      return `${p.edit} policy ${p.name}`;
  }
}

/** The name and attach target of a document not yet validated (the policy service validates it when the edit runs). */
function documentHints(document: unknown): { name: unknown; attach: unknown } {
  if (typeof document !== 'object' || document === null) return { name: undefined, attach: undefined };
  return { name: 'name' in document ? document.name : undefined, attach: 'attach' in document ? document.attach : undefined };
}

/** Policies over requestMetadata (docs/policies.md): documents, attachments, group defaults, simulate. */
export const policyRoutes: FastifyPluginCallback<PolicyRouteOptions> = (instance: FastifyInstance, { policies, gate }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  /** The groups an edit touches: the policy's current one and the one it is being attached to. */
  const groupsTouched = (p: PolicyEdit): Promise<string[]> => {
    switch (p.edit) {
      case 'create':
        return policies.groupsAffected(undefined, attachTargetHint(documentHints(p.document).attach));
      case 'update':
        return policies.groupsAffected(p.name, attachTargetHint(documentHints(p.document).attach));
      case 'attach':
        return policies.groupsAffected(p.name, attachTargetHint(p.target));
      case 'remove':
      case 'detach':
        return policies.groupsAffected(p.name);
      case 'set-default':
        return Promise.resolve([p.group]);
    }
  };

  /** Runs an edit through quorum approval when one of the groups it touches requires it. */
  const edit = async (request: FastifyRequest, reply: FastifyReply, p: PolicyEdit, status = 200) => {
    const group = await gate.pickGroup(await groupsTouched(p), 'policy.edit');
    return gated(request, reply, gate, { operation: 'policy.edit', group, params: p, summary: summaryOf(p) }, status);
  };

  const write = routePermission('policies:write');

  app.get('/policies', { config: routePermission('policies:read') }, () => policies.list());

  app.post('/policies', { config: write, schema: { body: ServiceValidatedObject } }, (request, reply) =>
    edit(request, reply, { edit: 'create', document: request.body }, 201),
  );

  app.post('/policies/simulate', { config: routePermission('policies:simulate'), schema: { body: SimulateBody } }, (request) =>
    policies.simulate(request.body),
  );

  app.get('/policies/:name', { config: routePermission('policies:read'), schema: { params: NameParams } }, (request) =>
    policies.show(request.params.name),
  );

  app.put('/policies/:name', { config: write, schema: { params: NameParams, body: ServiceValidatedObject } }, (request, reply) =>
    edit(request, reply, { edit: 'update', name: request.params.name, document: request.body }),
  );

  app.delete('/policies/:name', { config: write, schema: { params: NameParams } }, (request, reply) =>
    edit(request, reply, { edit: 'remove', name: request.params.name }),
  );

  app.post('/policies/:name/attach', { config: write, schema: { params: NameParams, body: ServiceValidatedObject } }, (request, reply) =>
    edit(request, reply, { edit: 'attach', name: request.params.name, target: request.body }),
  );

  app.post('/policies/:name/detach', { config: write, schema: { params: NameParams } }, (request, reply) =>
    edit(request, reply, { edit: 'detach', name: request.params.name }),
  );

  app.get('/policy-defaults', { config: routePermission('policies:read') }, () => policies.listGroupDefaults());

  app.put('/policy-defaults/:group', { config: write, schema: { params: GroupParams, body: DefaultBody } }, (request, reply) =>
    edit(request, reply, { edit: 'set-default', group: request.params.group, default: request.body.default }),
  );

  done();
};
