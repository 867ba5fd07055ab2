import type { FastifyInstance } from 'fastify';
import type { KeystoreService } from '../../keystores/service.js';
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

export async function keystoreRoutes(app: FastifyInstance, { keystores }: { keystores: KeystoreService }): Promise<void> {
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

  app.get<{ Params: { name: string } }>('/keystores/:name', { config: routePermission('keystores:read'), schema: { params: nameParams } }, async (request) =>
    keystores.show(request.params.name),
  );

  app.post<{ Params: { name: string }; Body: { accessKeyId?: string; secret?: string } }>(
    '/keystores/:name/credentials',
    { config: routePermission('credentials:manage'), schema: { params: nameParams, body: credentialBody } },
    async (request, reply) => reply.code(201).send(await keystores.addCredential(request.params.name, request.body ?? {})),
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
    app.post<{ Params: { name: string } }>(`/keystores/:name/${action}`, { config: routePermission('keystores:write'), schema: { params: nameParams } }, async (request) =>
      keystores.setStatus(request.params.name, status),
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
    async (request) => keystores.block({ name: request.params.name, reason: request.body.reason }),
  );

  app.post<{ Params: { name: string } }>('/keystores/:name/unblock', { config: routePermission('keystores:write'), schema: { params: nameParams } }, async (request) =>
    keystores.unblock({ name: request.params.name }),
  );

  app.get<{ Params: { name: string }; Querystring: { accessKeyId?: string } }>(
    '/keystores/:name/kms-json',
    // It reveals a SigV4 secret.
    { config: routePermission('credentials:manage'), schema: { params: nameParams } },
    async (request) => keystores.kmsConsoleJson(request.params.name, request.query.accessKeyId),
  );
}
