import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminEvent } from '../../audit/admin-events.js';
import { type AttachTarget, type Effect, type PolicyDocument } from '../../policies/document.js';
import type { PolicyService, SimulationInput } from '../../policies/service.js';
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

/** Who acted, for the admin event a policy change records. */
const actorOf = (request: FastifyRequest): AdminEvent['actor'] | undefined =>
  request.actor && { kind: request.actor.kind, id: request.actor.id, name: request.actor.name };

/** Policies over requestMetadata (docs/policies.md): documents, attachments, group defaults, simulate. */
export async function policyRoutes(app: FastifyInstance, { policies }: { policies: PolicyService }): Promise<void> {
  app.get('/policies', { config: routePermission('policies:read') }, async () => policies.list());

  app.post<{ Body: PolicyDocument }>(
    '/policies',
    { config: routePermission('policies:write'), schema: { body: serviceValidatedObject } },
    async (request, reply) => reply.code(201).send(await policies.create(request.body, actorOf(request))),
  );

  app.post<{ Body: SimulationInput }>(
    '/policies/simulate',
    { config: routePermission('policies:simulate'), schema: { body: simulateBody } },
    async (request) => policies.simulate({ ...request.body, requestMetadata: request.body.requestMetadata ?? {} }),
  );

  app.get<{ Params: { name: string } }>('/policies/:name', { config: routePermission('policies:read'), schema: { params: nameParams } }, async (request) =>
    policies.show(request.params.name),
  );

  app.put<{ Params: { name: string }; Body: PolicyDocument }>(
    '/policies/:name',
    { config: routePermission('policies:write'), schema: { params: nameParams, body: serviceValidatedObject } },
    async (request) => policies.update(request.params.name, request.body, actorOf(request)),
  );

  app.delete<{ Params: { name: string } }>(
    '/policies/:name',
    { config: routePermission('policies:write'), schema: { params: nameParams } },
    async (request, reply) => {
      await policies.remove(request.params.name, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { name: string }; Body: AttachTarget }>(
    '/policies/:name/attach',
    { config: routePermission('policies:write'), schema: { params: nameParams, body: serviceValidatedObject } },
    async (request) => policies.attach(request.params.name, request.body, actorOf(request)),
  );

  app.post<{ Params: { name: string } }>(
    '/policies/:name/detach',
    { config: routePermission('policies:write'), schema: { params: nameParams } },
    async (request) => policies.detach(request.params.name, actorOf(request)),
  );

  app.get('/policy-defaults', { config: routePermission('policies:read') }, async () => policies.listGroupDefaults());

  app.put<{ Params: { group: string }; Body: { default: Effect } }>(
    '/policy-defaults/:group',
    {
      config: routePermission('policies:write'),
      schema: {
        params: groupParams,
        body: { type: 'object', required: ['default'], additionalProperties: false, properties: { default: { type: 'string', enum: ['allow', 'deny'] } } },
      },
    },
    async (request) => policies.setGroupDefault(request.params.group, request.body.default, actorOf(request)),
  );
}
