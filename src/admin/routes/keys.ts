import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApprovalGate } from '../../approvals/gate.js';
import type { ApprovalOperation } from '../../approvals/operations.js';
import type { KeyUsage } from '../../domain/types.js';
import type { KeyService } from '../../keys/service.js';
import type { KeystoreService } from '../../keystores/keystore-service.js';
import { gated } from '../gated.js';
import { routePermission, type Permission } from '../permissions.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

const versionParams = {
  type: 'object',
  required: ['id', 'version'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 }, version: { type: 'integer', minimum: 1 } },
} as const;

const keystoreQuery = { type: 'object', properties: { keystore: { type: 'string' } } } as const;

const usageSchema = { type: 'array', uniqueItems: true, items: { type: 'string', enum: ['ENCRYPT', 'DECRYPT'] } } as const;
const tagsSchema = { type: 'object', additionalProperties: { type: 'string' } } as const;

const body = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  required,
  additionalProperties: false,
  properties,
});

type KeyRequest<B = unknown> = { Params: { id: string }; Querystring: { keystore?: string }; Body: B };
type VersionRequest = { Params: { id: string; version: number }; Querystring: { keystore?: string } };

/**
 * Keys and their lifecycle (docs/rotation.md). Every lifecycle action is one KeyService method taking
 * plain JSON parameters (`{ id, keystore, … }`), so an approval can store them and replay the call.
 */
export async function keyRoutes(
  app: FastifyInstance,
  { keys, keystores, gate }: { keys: KeyService; keystores: KeystoreService; gate: ApprovalGate },
): Promise<void> {
  /**
   * Runs a lifecycle action through quorum approval (docs/access.md) when the key's group requires it for
   * `operation`; the stored params are the service method's own, replayed by src/approvals/executors.ts.
   */
  const gatedKeyAction = async (
    request: FastifyRequest,
    reply: FastifyReply,
    operation: ApprovalOperation,
    params: { id: string; keystore?: string },
    summary: string,
    status = 200,
  ) => {
    const { group } = await keys.show(params.id, params.keystore);
    return gated(request, reply, gate, { operation, group, params, summary: `${summary} in group ${group}` }, status);
  };

  app.get<{ Querystring: { keystore?: string } }>(
    '/keys',
    { config: routePermission('keys:read'), schema: { querystring: keystoreQuery } },
    async (request) => keys.list(request.query.keystore),
  );

  app.post<{ Body: { id: string; keystore: string; usage?: KeyUsage[]; description?: string; tags?: Record<string, string> } }>(
    '/keys',
    {
      config: routePermission('keys:create'),
      schema: {
        body: body(
          { id: { type: 'string' }, keystore: { type: 'string' }, usage: usageSchema, description: { type: 'string' }, tags: tagsSchema },
          ['id', 'keystore'],
        ),
      },
    },
    async (request, reply) => reply.code(201).send(await keys.create(request.body)),
  );

  // Bring your own key: a wrapping key, then an upload creating a key (keys:create) or a new version (keys:manage).
  app.post('/keys/import-wrapping-keys', { config: routePermission('keys:manage') }, async (_request, reply) =>
    reply.code(201).send(await keys.createImportWrappingKey()),
  );

  const importBody = {
    wrappingKeyId: { type: 'string', minLength: 1, maxLength: 64 },
    wrappedKey: { type: 'string', minLength: 1, maxLength: 4096 },
  };
  app.post<{
    Body: {
      id: string;
      keystore: string;
      wrappingKeyId: string;
      wrappedKey: string;
      usage?: KeyUsage[];
      description?: string;
      tags?: Record<string, string>;
    };
  }>(
    '/keys/import',
    {
      config: routePermission('keys:create'),
      schema: {
        body: body(
          {
            id: { type: 'string' },
            keystore: { type: 'string' },
            ...importBody,
            usage: usageSchema,
            description: { type: 'string' },
            tags: tagsSchema,
          },
          ['id', 'keystore', 'wrappingKeyId', 'wrappedKey'],
        ),
      },
    },
    async (request, reply) => {
      const { group } = await keystores.show(request.body.keystore);
      const params = { ...request.body, into: 'new-key' as const };
      return gated(
        request,
        reply,
        gate,
        { operation: 'key.import', group, params, summary: `import key ${params.id} into keystore ${params.keystore} (group ${group})` },
        201,
      );
    },
  );
  app.post<KeyRequest<{ wrappingKeyId: string; wrappedKey: string }>>(
    '/keys/:id/import',
    {
      config: routePermission('keys:manage'),
      schema: { params: idParams, querystring: keystoreQuery, body: body(importBody, ['wrappingKeyId', 'wrappedKey']) },
    },
    async (request, reply) => {
      const params = { id: request.params.id, keystore: request.query.keystore, ...request.body, into: 'new-version' as const };
      return gatedKeyAction(request, reply, 'key.import', params, `import a new version of key ${params.id}`);
    },
  );

  app.get<KeyRequest>(
    '/keys/:id',
    { config: routePermission('keys:read'), schema: { params: idParams, querystring: keystoreQuery } },
    async (request) => keys.show(request.params.id, request.query.keystore),
  );

  app.post<KeyRequest>(
    '/keys/:id/enable',
    { config: routePermission('keys:manage'), schema: { params: idParams, querystring: keystoreQuery } },
    async (request) => keys.enable(request.params.id, request.query.keystore),
  );

  app.post<KeyRequest>(
    '/keys/:id/disable',
    { config: routePermission('keys:manage'), schema: { params: idParams, querystring: keystoreQuery } },
    async (request, reply) =>
      gatedKeyAction(
        request,
        reply,
        'key.disable',
        { id: request.params.id, keystore: request.query.keystore },
        `disable key ${request.params.id}`,
      ),
  );

  /**
   * Routes whose body is one set of parameters of a KeyService method, next to the key's id and keystore;
   * those naming an approval operation wait for a quorum when the key's group requires one.
   */
  const action = <B extends object>(
    method: 'POST' | 'PUT' | 'PATCH',
    path: string,
    permission: Permission,
    bodySchema: object | undefined,
    run: (input: { id: string; keystore?: string } & B) => Promise<unknown>,
    approval?: ApprovalOperation,
  ) =>
    app.route<KeyRequest<B>>({
      method,
      url: `/keys/:id/${path}`,
      config: routePermission(permission),
      schema: { params: idParams, querystring: keystoreQuery, ...(bodySchema ? { body: bodySchema } : {}) },
      handler: async (request, reply) => {
        const input = { ...((request.body ?? {}) as B), id: request.params.id, keystore: request.query.keystore };
        return approval ? gatedKeyAction(request, reply, approval, input, `${path} key ${input.id}`) : run(input);
      },
    });

  action<{ reason: string }>('POST', 'block', 'keys:manage', body({ reason: { type: 'string' } }, ['reason']), keys.block, 'key.block');
  action('POST', 'unblock', 'keys:manage', undefined, keys.unblock);
  action<{ days: number }>(
    'POST',
    'schedule-deletion',
    'keys:destroy',
    body({ days: { type: 'integer' } }, ['days']),
    keys.scheduleDeletion,
    'key.schedule-deletion',
  );
  action('POST', 'cancel-deletion', 'keys:destroy', undefined, keys.cancelDeletion);
  action('POST', 'rotate', 'keys:manage', undefined, keys.rotate);
  action<{ days: number | null }>(
    'PUT',
    'rotation-policy',
    'keys:manage',
    body({ days: { type: ['integer', 'null'] } }, ['days']),
    keys.setRotationPolicy,
    'key.rotation-policy',
  );
  action<{ version: number }>(
    'PUT',
    'min-decrypt-version',
    'keys:manage',
    body({ version: { type: 'integer' } }, ['version']),
    keys.setMinDecryptVersion,
  );
  action<{ set?: Record<string, string>; remove?: string[] }>(
    'PATCH',
    'tags',
    'keys:manage',
    body({ set: tagsSchema, remove: { type: 'array', items: { type: 'string' } } }),
    keys.setTags,
  );
  action<{ description: string }>(
    'PUT',
    'description',
    'keys:manage',
    body({ description: { type: 'string' } }, ['description']),
    keys.describe,
  );

  app.get<KeyRequest>(
    '/keys/:id/versions',
    { config: routePermission('keys:read'), schema: { params: idParams, querystring: keystoreQuery } },
    async (request) => keys.listVersions({ id: request.params.id, keystore: request.query.keystore }),
  );
  app.post<VersionRequest>(
    '/keys/:id/versions/:version/revoke',
    { config: routePermission('keys:manage'), schema: { params: versionParams, querystring: keystoreQuery } },
    async (request) => keys.revokeVersion({ id: request.params.id, keystore: request.query.keystore, version: request.params.version }),
  );
  app.post<VersionRequest>(
    '/keys/:id/versions/:version/destroy',
    { config: routePermission('keys:destroy'), schema: { params: versionParams, querystring: keystoreQuery } },
    async (request, reply) => {
      const params = { id: request.params.id, keystore: request.query.keystore, version: request.params.version };
      return gatedKeyAction(request, reply, 'key.destroy', params, `destroy version ${params.version} of key ${params.id}`);
    },
  );
}
