/**
 * Every permission an admin API route can require (DESIGN.md §6: every route names the permission it
 * needs). Roles are sets of these; a route declares exactly one in its `config.permission`.
 */
export const PERMISSIONS = [
  'node:read',
  'node:unseal',
  'node:kill-switch',
  'keystores:read',
  'keystores:write',
  'credentials:manage',
  'keys:read',
  'keys:create',
  'keys:manage',
  'keys:destroy',
  'policies:read',
  'policies:write',
  'policies:simulate',
  'audit:read',
  'users:read',
  'users:manage',
  'approvals:read',
  'approvals:decide',
  /** GET /metrics (Prometheus); outside /api/v1, unless the node serves it publicly (--metrics-public). */
  'metrics:read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** Who made an admin request: a user (through one of their tokens) or a stand-alone token. */
export interface Actor {
  kind: 'user' | 'token';
  /** The user's or token's id. */
  id: string;
  /** A name for people: the user name, or the token's name. */
  name: string;
  permissions: ReadonlySet<Permission>;
}

/** Route option every admin route sets: `{ config: routePermission('keys:read') }`. */
export const routePermission = (permission: Permission) => ({ permission });

/** The few routes anyone may call without a token (login). Everything else names a permission. */
export const publicRoute = () => ({ public: true });

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission the route requires; a route without one is refused at startup. */
    permission?: Permission;
    /** Set (by publicRoute()) on the routes that need no token. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** Set by the authentication hook for every admin request that gets past it (not on public routes). */
    actor?: Actor;
  }
}
