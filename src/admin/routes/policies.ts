import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AttachTarget, type Effect, type PolicyDocument } from '../../policies/document.js';
import type { PolicyService, SimulationInput } from '../../policies/service.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import type { PolicyEdit } from '../../approvals/executors.js';
import { gated } from '../gated.js';
import { routePermission } from '../permissions.js';

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;

const groupParams = {
  type: 'object',
  required: ['group'],
  properties: { group: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;

/**
 * Bodies the policy service validates itself (src/policies/document.ts), with one-line errors naming the
 * bad field. Fastify's validator would instead drop unknown fields (removeAdditional) and coerce types,
 * so a typo such as "principals" would vanish silently; here the route only requires an object.
 */
const serviceValidatedObject = { type: 'object' } as const;

const simulateBody = {
  type: 'object',
  required: ['keystore', 'keyId', 'operation'],
  properties: {
    keystore: { type: 'string', minLength: 1, maxLength: 63 },
    keyId: { type: 'string', minLength: 1, maxLength: 128 },
    operation: { type: 'string', enum: ['Encrypt', 'Decrypt', 'GetKeyMetadata'] },
    requestMetadata: serviceValidatedObject,
  },
} as const;

/** Policies over requestMetadata (docs/policies.md): documents, attachments, group defaults, simulate. */
export async function policyRoutes(
  app: FastifyInstance,
  { policies, gate }: { policies: PolicyService; gate: ApprovalGate },
): Promise<void> {
  /** Every edit goes through quorum approval (`policy.edit`) when a group it touches requires it. */
  const edit = async (request: FastifyRequest, reply: FastifyReply, params: PolicyEdit, groups: string[], summary: string, status = 200) =>
    gated(request, reply, gate, { operation: 'policy.edit', group: await gate.pickGroup(groups, 'policy.edit'), params, summary }, status);
  const targetOf = (document: unknown) => (document && typeof document === 'object' ? (document as PolicyDocument).attach : undefined);

  app.get('/policies', { config: routePermission('policies:read') }, async () => policies.list());

  app.post<{ Body: PolicyDocument }>(
    '/policies',
    { config: routePermission('policies:write'), schema: { body: serviceValidatedObject } },
    async (request, reply) =>
      edit(
        request,
        reply,
        { edit: 'create', document: request.body },
        await policies.groupsAffected(undefined, targetOf(request.body)),
        `create policy ${String(request.body?.name)}`,
        201,
      ),
  );

  app.post<{ Body: SimulationInput }>(
    '/policies/simulate',
    { config: routePermission('policies:simulate'), schema: { body: simulateBody } },
    async (request) => policies.simulate({ ...request.body, requestMetadata: request.body.requestMetadata ?? {} }),
  );

  app.get<{ Params: { name: string } }>(
    '/policies/:name',
    { config: routePermission('policies:read'), schema: { params: nameParams } },
    async (request) => policies.show(request.params.name),
  );

  app.put<{ Params: { name: string }; Body: PolicyDocument }>(
    '/policies/:name',
    { config: routePermission('policies:write'), schema: { params: nameParams, body: serviceValidatedObject } },
    async (request, reply) => {
      const { name } = request.params;
      return edit(
        request,
        reply,
        { edit: 'update', name, document: request.body },
        await policies.groupsAffected(name, targetOf(request.body)),
        `update policy ${name}`,
      );
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/policies/:name',
    { config: routePermission('policies:write'), schema: { params: nameParams } },
    async (request, reply) => {
      const { name } = request.params;
      return edit(request, reply, { edit: 'remove', name }, await policies.groupsAffected(name), `delete policy ${name}`);
    },
  );

  app.post<{ Params: { name: string }; Body: AttachTarget }>(
    '/policies/:name/attach',
    { config: routePermission('policies:write'), schema: { params: nameParams, body: serviceValidatedObject } },
    async (request, reply) => {
      const { name } = request.params;
      return edit(
        request,
        reply,
        { edit: 'attach', name, target: request.body },
        await policies.groupsAffected(name, request.body),
        `attach policy ${name}`,
      );
    },
  );

  app.post<{ Params: { name: string } }>(
    '/policies/:name/detach',
    { config: routePermission('policies:write'), schema: { params: nameParams } },
    async (request, reply) => {
      const { name } = request.params;
      return edit(request, reply, { edit: 'detach', name }, await policies.groupsAffected(name), `detach policy ${name}`);
    },
  );

  app.get('/policy-defaults', { config: routePermission('policies:read') }, async () => policies.listGroupDefaults());

  app.put<{ Params: { group: string }; Body: { default: Effect } }>(
    '/policy-defaults/:group',
    {
      config: routePermission('policies:write'),
      schema: {
        params: groupParams,
        body: {
          type: 'object',
          required: ['default'],
          additionalProperties: false,
          properties: { default: { type: 'string', enum: ['allow', 'deny'] } },
        },
      },
    },
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
}
