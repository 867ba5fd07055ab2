/**
 * Every permission an admin API route can require (docs/architecture.md#admin-api: every route names the permission it
 * needs). Roles are sets of these (roles.ts); an actor holds the union of its roles' permissions.
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
  /** POST /backups: an encrypted backup of the whole node (approval operation backup.create). */
  'backup:create',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const isPermission = (name: string): name is Permission => PERMISSIONS.some((permission) => permission === name);
