import type { FastifyInstance } from 'fastify';
import type { KeyUsage } from '../../domain/types.js';
import type { KeyService } from '../../keys/service.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import { gated } from '../gated.js';
import { routePermission } from '../permissions.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

const keystoreQuery = { type: 'object', properties: { keystore: { type: 'string' } } } as const;

export async function keyRoutes(app: FastifyInstance, { keys, gate }: { keys: KeyService; gate: ApprovalGate }): Promise<void> {
  app.get<{ Querystring: { keystore?: string } }>('/keys', { config: routePermission('keys:read'), schema: { querystring: keystoreQuery } }, async (request) =>
    keys.list(request.query.keystore),
  );

  app.post<{ Body: { id: string; keystore: string; usage?: KeyUsage[] } }>(
    '/keys',
    {
      config: routePermission('keys:create'),
      schema: {
        body: {
          type: 'object',
          required: ['id', 'keystore'],
          additionalProperties: false,
          properties: {
            id: { type: 'string' },
            keystore: { type: 'string' },
            usage: { type: 'array', uniqueItems: true, items: { type: 'string', enum: ['ENCRYPT', 'DECRYPT'] } },
          },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await keys.create(request.body)),
  );

  app.get<{ Params: { id: string }; Querystring: { keystore?: string } }>(
    '/keys/:id',
    { config: routePermission('keys:read'), schema: { params: idParams, querystring: keystoreQuery } },
    async (request) => keys.show(request.params.id, request.query.keystore),
  );

  app.post<{ Params: { id: string }; Querystring: { keystore?: string } }>(
    '/keys/:id/enable',
    { config: routePermission('keys:manage'), schema: { params: idParams, querystring: keystoreQuery } },
    async (request) => keys.enable(request.params.id, request.query.keystore),
  );

  app.post<{ Params: { id: string }; Querystring: { keystore?: string } }>(
    '/keys/:id/disable',
    { config: routePermission('keys:manage'), schema: { params: idParams, querystring: keystoreQuery } },
    async (request, reply) => {
      const { id } = request.params;
      const { group } = await keys.show(id, request.query.keystore);
      return gated(request, reply, gate, { operation: 'key.disable', group, params: { id, keystore: request.query.keystore }, summary: `disable key ${id} in group ${group}` });
    },
  );
}
