import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UnsealActor, UnsealService } from '../../unseal/service.js';
import { routePermission } from '../permissions.js';

const actorOf = (request: FastifyRequest): UnsealActor | undefined =>
  request.actor && { kind: request.actor.kind, id: request.actor.id, name: request.actor.name };

/**
 * Unsealing a Shamir node (docs/unseal.md): status, one share per POST, and a reset of the shares
 * entered so far. Shares arrive in the body only; they are never logged or echoed.
 */
export async function unsealRoutes(app: FastifyInstance, { unseal }: { unseal: UnsealService }): Promise<void> {
  app.get('/unseal', { config: routePermission('node:read') }, async () => unseal.status());

  app.post<{ Body: { share: string } }>(
    '/unseal',
    {
      config: routePermission('node:unseal'),
      schema: {
        body: {
          type: 'object',
          required: ['share'],
          additionalProperties: false,
          properties: { share: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (request) => unseal.enterShare(request.body.share, actorOf(request)),
  );

  app.delete('/unseal', { config: routePermission('node:unseal') }, async (request) => unseal.reset(actorOf(request)));
}
