import type { FastifyRequest } from 'fastify';
import type { Permission } from '../access/permissions.js';
import type { AuthenticatedActor } from '../access/service.js';

/**
 * How admin routes declare what they need: the permission catalog and the Actor are domain concepts
 * (src/access/); this only maps them onto Fastify's route config and request.
 */

/** Route option every admin route sets: `{ config: routePermission('keys:read') }`. */
export const routePermission = (permission: Permission) => ({ permission });

/** The few routes anyone may call without a token (login). Everything else names a permission. */
export const publicRoute = () => ({ public: true });

/**
 * Routes any valid token may call, whatever its permissions (GET /auth/whoami: a caller asking what it may
 * do). The token is still required and checked; no permission is.
 */
export const authenticatedRoute = () => ({ authenticated: true });

/**
 * The actor of a request to a route that names a permission (the authentication hook in app.ts set it
 * before the handler ran). Throws (a 500) when called from a public route, which has none.
 */
export function requestActor(request: FastifyRequest): AuthenticatedActor {
  if (!request.actor) throw new Error(`${request.method} ${request.url}: no authenticated actor (a public route?)`);
  return request.actor;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission the route requires; a route without one is refused at startup. */
    permission?: Permission;
    /** Set (by publicRoute()) on the routes that need no token. */
    public?: boolean;
    /** Set (by authenticatedRoute()) on the routes any valid token may call. */
    authenticated?: boolean;
  }
  interface FastifyRequest {
    /** Set by the authentication hook for every admin request that gets past it (not on public routes). */
    actor?: AuthenticatedActor;
  }
}
