import { invalid } from '../core/errors.js';
import { PERMISSIONS, type Permission } from './permissions.js';

/**
 * The built-in roles. A user may hold several; their permissions add up. A service token holds one.
 * docs/access.md carries this table (test/access/roles.test.ts checks that it matches).
 */
export const ROLES = {
  administrator: { description: 'everything', permissions: PERMISSIONS },
  'key-officer': {
    description: 'key lifecycle',
    permissions: ['keys:read', 'keys:create', 'keys:manage', 'keys:destroy', 'keystores:read', 'policies:read', 'node:read'],
  },
  auditor: { description: 'reads the audit log and the metrics, nothing else', permissions: ['audit:read', 'metrics:read'] },
  approver: { description: 'sees and decides approval requests', permissions: ['approvals:read', 'approvals:decide'] },
  monitor: { description: 'scrapes GET /metrics (a Prometheus service token), nothing else', permissions: ['metrics:read'] },
} as const satisfies Record<string, { description: string; permissions: readonly Permission[] }>;

export type RoleName = keyof typeof ROLES;

export const isRoleName = (name: string): name is RoleName => Object.hasOwn(ROLES, name);

export const ROLE_NAMES: readonly RoleName[] = Object.keys(ROLES).filter(isRoleName);

/** A role's permissions (widened from the literal tuples in ROLES). */
export const permissionsOfRole = (role: RoleName): readonly Permission[] => ROLES[role].permissions;

export function permissionsOf(roles: readonly RoleName[]): Set<Permission> {
  return new Set(roles.flatMap(permissionsOfRole));
}

/** Role names as given (by an operator), checked and without repeats; the first unknown one is refused. */
export function parseRoles(names: readonly string[]): RoleName[] {
  const unknown = names.find((n) => !isRoleName(n));
  if (unknown !== undefined) throw invalid(`unknown role "${unknown}"; roles are ${ROLE_NAMES.join(', ')}`);
  return [...new Set(names.filter(isRoleName))];
}
