import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TObject } from 'typebox';
import type { ApprovalGate } from '../../approvals/gate.js';
import type { ApprovalOperation } from '../../approvals/operations.js';
import { KEY_STATUSES, MAX_KEY_PAGE, MAX_KEY_SEARCH, type KeyService } from '../../keys/service.js';
import type { KeystoreService } from '../../keystores/keystore-service.js';
import { gated } from '../gated.js';
import { routePermission } from '../permissions.js';

/** What the key routes are built with. */
export interface KeyRouteOptions {
  keys: KeyService;
  keystores: KeystoreService;
  /** Lifecycle actions wait for a quorum when the key's group requires one (src/approvals/executors.ts replays them). */
  gate: ApprovalGate;
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const VersionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), version: Type.Integer({ minimum: 1 }) });
const KeystoreQuery = Type.Object({ keystore: Type.Optional(Type.String()) });

const ListQuery = Type.Object(
  {
    search: Type.Optional(
      Type.String({ maxLength: MAX_KEY_SEARCH, description: 'case-insensitive substring of the key id, description or a tag value' }),
    ),
    status: Type.Optional(Type.Enum([...KEY_STATUSES], { type: 'string' })),
    keystore: Type.Optional(Type.String({ description: "only the keys of this keystore's group" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_KEY_PAGE, description: 'keys per page (default 50)' })),
    cursor: Type.Optional(Type.String({ maxLength: 1024, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
const OptionalText = Type.Optional(Type.String());
// The key view (src/keys/key-views.ts KeyView), for the OpenAPI document and the answer's serializer.
const KeyViewSchema = Type.Object({
  id: Type.String(),
  keystore: OptionalText,
  group: Type.String(),
  usage: Type.Array(Type.String()),
  status: Type.Enum([...KEY_STATUSES], { type: 'string' }),
  blockReason: OptionalText,
  deletionDate: OptionalText,
  currentVersion: Type.Integer(),
  minDecryptVersion: Type.Integer(),
  rotationPeriodDays: Type.Optional(Type.Integer()),
  nextRotationAt: OptionalText,
  description: Type.String(),
  tags: Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' } }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const KeyPageSchema = Type.Object({
  keys: Type.Array(KeyViewSchema),
  nextCursor: Type.Unsafe<string | null>({ type: 'string', nullable: true, description: 'null on the last page' }),
  total: Type.Optional(Type.Integer({ description: 'keys matching the filters in all; on the first page (no cursor) only' })),
});

const Usage = Type.Array(Type.Enum(['ENCRYPT', 'DECRYPT'], { type: 'string' }), { uniqueItems: true });
// Exactly the schema's claim: an object whose every value is a string.
const Tags = Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' } });
const WrappingKeyId = Type.String({ minLength: 1, maxLength: 64 });
const WrappedKey = Type.String({ minLength: 1, maxLength: 4096 });

const NewKeyBody = Type.Object(
  {
    id: Type.String(),
    keystore: Type.String(),
    usage: Type.Optional(Usage),
    description: Type.Optional(Type.String()),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false },
);
const ImportKeyBody = Type.Object(
  {
    id: Type.String(),
    keystore: Type.String(),
    wrappingKeyId: WrappingKeyId,
    wrappedKey: WrappedKey,
    usage: Type.Optional(Usage),
    description: Type.Optional(Type.String()),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false },
);
const ImportVersionBody = Type.Object({ wrappingKeyId: WrappingKeyId, wrappedKey: WrappedKey }, { additionalProperties: false });

const ReasonBody = Type.Object({ reason: Type.String() }, { additionalProperties: false });
const DaysBody = Type.Object({ days: Type.Integer() }, { additionalProperties: false });
const RotationBody = Type.Object({ days: Type.Unsafe<number | null>({ type: ['integer', 'null'] }) }, { additionalProperties: false });
const VersionBody = Type.Object({ version: Type.Integer() }, { additionalProperties: false });
const TagsBody = Type.Object(
  { set: Type.Optional(Tags), remove: Type.Optional(Type.Array(Type.String())) },
  { additionalProperties: false },
);
const DescriptionBody = Type.Object({ description: Type.String() }, { additionalProperties: false });

/** A key named in a route: its id, and the keystore it is in (when the id alone is ambiguous). */
type KeyInput = { id: string; keystore?: string };

/**
 * Keys and their lifecycle (docs/rotation.md). Every lifecycle action is one KeyService method taking
 * plain JSON parameters (`{ id, keystore, … }`), so an approval can store them and replay the call.
 */
export const keyRoutes: FastifyPluginCallback<KeyRouteOptions> = (instance: FastifyInstance, { keys, keystores, gate }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  /**
   * Runs a lifecycle action through quorum approval (docs/access.md) when the key's group requires it for
   * `operation`; the stored params are the service method's own, replayed by src/approvals/executors.ts.
   */
  const gatedKeyAction = async (
    request: FastifyRequest,
    reply: FastifyReply,
    operation: ApprovalOperation,
    params: KeyInput,
    summary: string,
    status = 200,
  ) => {
    const { group } = await keys.show(params.id, params.keystore);
    return gated(request, reply, gate, { operation, group, params, summary: `${summary} in group ${group}` }, status);
  };

  // Server-side search, filters and keyset pages: fast at 100,000 keys (migration 0008, docs/access.md#keys-search).
  app.get(
    '/keys',
    {
      config: routePermission('keys:read'),
      schema: {
        summary: 'Search and list keys, one page at a time (in group, key id order)',
        querystring: ListQuery,
        response: { 200: KeyPageSchema },
      },
    },
    (request) => keys.search(request.query),
  );

  app.post('/keys', { config: routePermission('keys:create'), schema: { body: NewKeyBody } }, async (request, reply) =>
    reply.code(201).send(await keys.create(request.body)),
  );

  // Bring your own key: a wrapping key, then an upload creating a key (keys:create) or a new version (keys:manage).
  app.post('/keys/import-wrapping-keys', { config: routePermission('keys:manage') }, async (_request, reply) =>
    reply.code(201).send(await keys.createImportWrappingKey()),
  );

  app.post('/keys/import', { config: routePermission('keys:create'), schema: { body: ImportKeyBody } }, async (request, reply) => {
    const { group } = await keystores.show(request.body.keystore);
    const params = { ...request.body, into: 'new-key' as const };
    return gated(
      request,
      reply,
      gate,
      { operation: 'key.import', group, params, summary: `import key ${params.id} into keystore ${params.keystore} (group ${group})` },
      201,
    );
  });
  app.post(
    '/keys/:id/import',
    { config: routePermission('keys:manage'), schema: { params: IdParams, querystring: KeystoreQuery, body: ImportVersionBody } },
    async (request, reply) => {
      const params = { id: request.params.id, keystore: request.query.keystore, ...request.body, into: 'new-version' as const };
      return gatedKeyAction(request, reply, 'key.import', params, `import a new version of key ${params.id}`);
    },
  );

  app.get('/keys/:id', { config: routePermission('keys:read'), schema: { params: IdParams, querystring: KeystoreQuery } }, (request) =>
    keys.show(request.params.id, request.query.keystore),
  );

  app.post(
    '/keys/:id/enable',
    { config: routePermission('keys:manage'), schema: { params: IdParams, querystring: KeystoreQuery } },
    (request) => keys.enable(request.params.id, request.query.keystore),
  );

  app.post(
    '/keys/:id/disable',
    { config: routePermission('keys:manage'), schema: { params: IdParams, querystring: KeystoreQuery } },
    (request, reply) =>
      gatedKeyAction(
        request,
        reply,
        'key.disable',
        { id: request.params.id, keystore: request.query.keystore },
        `disable key ${request.params.id}`,
      ),
  );

  /** Where a key action's parameters come from: the key's id (path), its keystore (query) and the body. */
  const keySchema = <Body extends TObject>(body: Body) => ({ params: IdParams, querystring: KeystoreQuery, body });
  const plainKeySchema = { params: IdParams, querystring: KeystoreQuery };

  // Routes whose body is one set of parameters of a KeyService method, next to the key's id and keystore;
  // those naming an approval operation wait for a quorum when the key's group requires one.
  app.post('/keys/:id/block', { config: routePermission('keys:manage'), schema: keySchema(ReasonBody) }, (request, reply) => {
    const input = { ...request.body, id: request.params.id, keystore: request.query.keystore };
    return gatedKeyAction(request, reply, 'key.block', input, `block key ${input.id}`);
  });
  app.post('/keys/:id/unblock', { config: routePermission('keys:manage'), schema: plainKeySchema }, (request) =>
    keys.unblock({ id: request.params.id, keystore: request.query.keystore }),
  );
  app.post('/keys/:id/schedule-deletion', { config: routePermission('keys:destroy'), schema: keySchema(DaysBody) }, (request, reply) => {
    const input = { ...request.body, id: request.params.id, keystore: request.query.keystore };
    return gatedKeyAction(request, reply, 'key.schedule-deletion', input, `schedule-deletion key ${input.id}`);
  });
  app.post('/keys/:id/cancel-deletion', { config: routePermission('keys:destroy'), schema: plainKeySchema }, (request) =>
    keys.cancelDeletion({ id: request.params.id, keystore: request.query.keystore }),
  );
  app.post('/keys/:id/rotate', { config: routePermission('keys:manage'), schema: plainKeySchema }, (request) =>
    keys.rotate({ id: request.params.id, keystore: request.query.keystore }),
  );
  app.put('/keys/:id/rotation-policy', { config: routePermission('keys:manage'), schema: keySchema(RotationBody) }, (request, reply) => {
    const input = { ...request.body, id: request.params.id, keystore: request.query.keystore };
    return gatedKeyAction(request, reply, 'key.rotation-policy', input, `rotation-policy key ${input.id}`);
  });
  app.put('/keys/:id/min-decrypt-version', { config: routePermission('keys:manage'), schema: keySchema(VersionBody) }, (request) =>
    keys.setMinDecryptVersion({ ...request.body, id: request.params.id, keystore: request.query.keystore }),
  );
  app.patch('/keys/:id/tags', { config: routePermission('keys:manage'), schema: keySchema(TagsBody) }, (request) =>
    keys.setTags({ ...request.body, id: request.params.id, keystore: request.query.keystore }),
  );
  app.put('/keys/:id/description', { config: routePermission('keys:manage'), schema: keySchema(DescriptionBody) }, (request) =>
    keys.describe({ ...request.body, id: request.params.id, keystore: request.query.keystore }),
  );

  app.get(
    '/keys/:id/versions',
    { config: routePermission('keys:read'), schema: { params: IdParams, querystring: KeystoreQuery } },
    (request) => keys.listVersions({ id: request.params.id, keystore: request.query.keystore }),
  );
  app.post(
    '/keys/:id/versions/:version/revoke',
    { config: routePermission('keys:manage'), schema: { params: VersionParams, querystring: KeystoreQuery } },
    (request) => keys.revokeVersion({ id: request.params.id, keystore: request.query.keystore, version: request.params.version }),
  );
  app.post(
    '/keys/:id/versions/:version/destroy',
    { config: routePermission('keys:destroy'), schema: { params: VersionParams, querystring: KeystoreQuery } },
    async (request, reply) => {
      const params = { id: request.params.id, keystore: request.query.keystore, version: request.params.version };
      return gatedKeyAction(request, reply, 'key.destroy', params, `destroy version ${params.version} of key ${params.id}`);
    },
  );

  done();
};
