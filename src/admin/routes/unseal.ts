import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { UnsealActor, UnsealService } from '../../unseal/service.js';
import { requestActor, routePermission } from '../permissions.js';

/** What the unseal routes are built with. */
export interface UnsealRouteOptions {
  unseal: UnsealService;
}

const ShareBody = Type.Object({ share: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

const actorOf = (request: FastifyRequest): UnsealActor => {
  const actor = requestActor(request);
  return { kind: actor.kind, id: actor.id, name: actor.name };
};

/**
 * Unsealing a Shamir node (docs/unseal.md): status, one share per POST, and a reset of the shares
 * entered so far. Shares arrive in the body only; they are never logged or echoed.
 */
export const unsealRoutes: FastifyPluginCallback<UnsealRouteOptions> = (instance: FastifyInstance, { unseal }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/unseal', { config: routePermission('node:read') }, () => unseal.status());

  app.post('/unseal', { config: routePermission('node:unseal'), schema: { body: ShareBody } }, (request) =>
    unseal.enterShare(request.body.share, actorOf(request)),
  );

  app.delete('/unseal', { config: routePermission('node:unseal') }, (request) => unseal.reset(actorOf(request)));

  done();
};
