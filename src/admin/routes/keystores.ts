import type { FastifyInstance } from 'fastify';
import type { KeystoreService } from '../../keystores/keystore-service.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import { gated } from '../gated.js';
import { routePermission } from '../permissions.js';

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;

const credentialBody = {
  type: 'object',
  additionalProperties: false,
  properties: { accessKeyId: { type: 'string' }, secret: { type: 'string' } },
} as const;

export async function keystoreRoutes(
  app: FastifyInstance,
  { keystores, gate }: { keystores: KeystoreService; gate: ApprovalGate },
): Promise<void> {
  app.get('/keystores', { config: routePermission('keystores:read') }, async () => keystores.list());

  app.post<{ Body: { name: string; prefix: string; region?: string; group?: string; accessKeyId?: string; secret?: string } }>(
    '/keystores',
    {
      config: routePermission('keystores:write'),
      schema: {
        body: {
          type: 'object',
          required: ['name', 'prefix'],
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            prefix: { type: 'string' },
            region: { type: 'string' },
            group: { type: 'string' },
            accessKeyId: { type: 'string' },
            secret: { type: 'string' },
          },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await keystores.create(request.body)),
  );

  app.get<{ Params: { name: string } }>(
    '/keystores/:name',
    { config: routePermission('keystores:read'), schema: { params: nameParams } },
    async (request) => keystores.show(request.params.name),
  );

  app.post<{ Params: { name: string }; Body: { accessKeyId?: string; secret?: string } }>(
    '/keystores/:name/credentials',
    { config: routePermission('credentials:manage'), schema: { params: nameParams, body: credentialBody } },
    async (request, reply) => {
      const { name } = request.params;
      const { group } = await keystores.show(name);
      const params = { name, ...(request.body ?? {}) };
      return gated(
        request,
        reply,
        gate,
        { operation: 'credential.add', group, params, summary: `add a SigV4 credential to keystore ${name}` },
        201,
      );
    },
  );

  app.delete<{ Params: { name: string; accessKeyId: string } }>(
    '/keystores/:name/credentials/:accessKeyId',
    { config: routePermission('credentials:manage') },
    async (request, reply) => {
      await keystores.removeCredential(request.params.name, request.params.accessKeyId);
      return reply.code(204).send();
    },
  );

  for (const [action, status] of [
    ['enable', 'ENABLED'],
    ['disable', 'DISABLED'],
  ] as const) {
    app.post<{ Params: { name: string } }>(
      `/keystores/:name/${action}`,
      { config: routePermission('keystores:write'), schema: { params: nameParams } },
      async (request, reply) => {
        const { name } = request.params;
        if (status === 'ENABLED') return keystores.setStatus(name, status);
        const { group } = await keystores.show(name);
        return gated(request, reply, gate, { operation: 'keystore.disable', group, params: { name }, summary: `disable keystore ${name}` });
      },
    );
  }

  app.post<{ Params: { name: string }; Body: { reason: string } }>(
    '/keystores/:name/block',
    {
      config: routePermission('keystores:write'),
      schema: {
        params: nameParams,
        body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const { group } = await keystores.show(name);
      const params = { name, reason: request.body.reason };
      return gated(request, reply, gate, { operation: 'keystore.block', group, params, summary: `block keystore ${name}` });
    },
  );

  app.post<{ Params: { name: string } }>(
    '/keystores/:name/unblock',
    { config: routePermission('keystores:write'), schema: { params: nameParams } },
    async (request) => keystores.unblock({ name: request.params.name }),
  );

  // The keystore's request quota (docs/throttling.md); the service checks the values and says why it refuses them.
  app.put<{ Params: { name: string }; Body: { rps: number; burst?: number } }>(
    '/keystores/:name/quota',
    {
      config: routePermission('keystores:write'),
      schema: {
        params: nameParams,
        body: {
          type: 'object',
          required: ['rps'],
          additionalProperties: false,
          properties: { rps: { type: 'number' }, burst: { type: 'number' } },
        },
      },
    },
    async (request) => keystores.setQuota(request.params.name, request.body),
  );

  app.delete<{ Params: { name: string } }>(
    '/keystores/:name/quota',
    { config: routePermission('keystores:write'), schema: { params: nameParams } },
    async (request) => keystores.setQuota(request.params.name, undefined),
  );

  app.get<{ Params: { name: string }; Querystring: { accessKeyId?: string } }>(
    '/keystores/:name/kms-json',
    // It reveals a SigV4 secret.
    { config: routePermission('credentials:manage'), schema: { params: nameParams } },
    async (request, reply) => {
      const { name } = request.params;
      const { group } = await keystores.show(name);
      const params = { name, accessKeyId: request.query.accessKeyId };
      return gated(request, reply, gate, {
        operation: 'credential.reveal',
        group,
        params,
        summary: `reveal a SigV4 secret of keystore ${name}`,
      });
    },
  );
}
