import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { KeystoreService } from '../../keystores/keystore-service.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import type { ApprovalOperation } from '../../approvals/operations.js';
import { gated } from '../gated.js';
import { routePermission } from '../permissions.js';

/** What the keystore routes are built with. */
export interface KeystoreRouteOptions {
  keystores: KeystoreService;
  /** Disabling or blocking a keystore and adding or revealing a credential wait for a quorum when the group requires one. */
  gate: ApprovalGate;
}

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });
// As the path's own parameters (always strings); written out so the handler's types come from a schema.
const CredentialParams = Type.Object({ name: Type.String(), accessKeyId: Type.String() });

const NewKeystoreBody = Type.Object(
  {
    name: Type.String(),
    prefix: Type.String(),
    region: Type.Optional(Type.String()),
    group: Type.Optional(Type.String()),
    accessKeyId: Type.Optional(Type.String()),
    secret: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const CredentialBody = Type.Object(
  { accessKeyId: Type.Optional(Type.String()), secret: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
const ReasonBody = Type.Object({ reason: Type.String() }, { additionalProperties: false });
// The service checks the values and says why it refuses them (docs/throttling.md).
const QuotaBody = Type.Object({ rps: Type.Number(), burst: Type.Optional(Type.Number()) }, { additionalProperties: false });

// `?accessKeyId=` of GET kms-json: which credential's secret the file carries (the newest when not given).
const KmsJsonQuery = Type.Object({
  accessKeyId: Type.Optional(Type.String({ maxLength: 128, description: 'the credential to put in the file (default: the newest)' })),
});

/** Keystores, their SigV4 credentials and request quotas. */
export const keystoreRoutes: FastifyPluginCallback<KeystoreRouteOptions> = (instance: FastifyInstance, { keystores, gate }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  /** Runs an action on keystore `params.name` through quorum approval when its group requires one for `operation`. */
  const gatedKeystoreAction = async <Params extends { name: string }>(
    request: FastifyRequest,
    reply: FastifyReply,
    operation: ApprovalOperation,
    params: Params,
    summary: string,
    status = 200,
  ) => {
    const { group } = await keystores.show(params.name);
    return gated(request, reply, gate, { operation, group, params, summary }, status);
  };

  app.get('/keystores', { config: routePermission('keystores:read') }, () => keystores.list());

  app.post('/keystores', { config: routePermission('keystores:write'), schema: { body: NewKeystoreBody } }, async (request, reply) =>
    reply.code(201).send(await keystores.create(request.body)),
  );

  app.get('/keystores/:name', { config: routePermission('keystores:read'), schema: { params: NameParams } }, (request) =>
    keystores.show(request.params.name),
  );

  app.post(
    '/keystores/:name/credentials',
    { config: routePermission('credentials:manage'), schema: { params: NameParams, body: CredentialBody } },
    (request, reply) => {
      const { name } = request.params;
      return gatedKeystoreAction(
        request,
        reply,
        'credential.add',
        { name, ...request.body },
        `add a SigV4 credential to keystore ${name}`,
        201,
      );
    },
  );

  app.delete(
    '/keystores/:name/credentials/:accessKeyId',
    { config: routePermission('credentials:manage'), schema: { params: CredentialParams } },
    async (request, reply) => {
      await keystores.removeCredential(request.params.name, request.params.accessKeyId);
      return reply.code(204).send();
    },
  );

  app.post('/keystores/:name/enable', { config: routePermission('keystores:write'), schema: { params: NameParams } }, (request) =>
    keystores.setStatus(request.params.name, 'ENABLED'),
  );

  app.post('/keystores/:name/disable', { config: routePermission('keystores:write'), schema: { params: NameParams } }, (request, reply) => {
    const { name } = request.params;
    return gatedKeystoreAction(request, reply, 'keystore.disable', { name }, `disable keystore ${name}`);
  });

  app.post(
    '/keystores/:name/block',
    { config: routePermission('keystores:write'), schema: { params: NameParams, body: ReasonBody } },
    (request, reply) => {
      const { name } = request.params;
      return gatedKeystoreAction(request, reply, 'keystore.block', { name, reason: request.body.reason }, `block keystore ${name}`);
    },
  );

  app.post('/keystores/:name/unblock', { config: routePermission('keystores:write'), schema: { params: NameParams } }, (request) =>
    keystores.unblock({ name: request.params.name }),
  );

  app.put(
    '/keystores/:name/quota',
    { config: routePermission('keystores:write'), schema: { params: NameParams, body: QuotaBody } },
    (request) => keystores.setQuota(request.params.name, request.body),
  );

  app.delete('/keystores/:name/quota', { config: routePermission('keystores:write'), schema: { params: NameParams } }, (request) =>
    keystores.setQuota(request.params.name, undefined),
  );

  app.get(
    '/keystores/:name/kms-json',
    // It reveals a SigV4 secret.
    {
      config: routePermission('credentials:manage'),
      schema: { summary: 'The AWS KMS console JSON of a keystore (reveals a SigV4 secret)', params: NameParams, querystring: KmsJsonQuery },
    },
    (request, reply) => {
      const { name } = request.params;
      const params = { name, accessKeyId: request.query.accessKeyId };
      return gatedKeystoreAction(request, reply, 'credential.reveal', params, `reveal a SigV4 secret of keystore ${name}`);
    },
  );

  done();
};
