/**
 * Who the console acts as and what that identity may do, from GET /api/v1/auth/whoami. A node without
 * that route (an older node) gives no answer; the console then enables everything and shows the
 * server's refusal, since the server stays the enforcer either way.
 */
import { ApiError, api } from './api';

export interface Identity {
  name: string;
  roles: string[];
  /** Undefined when the node does not say (no whoami route): nothing is disabled in advance. */
  permissions: ReadonlySet<string> | undefined;
}

interface WhoAmI {
  user?: string;
  name?: string;
  token?: string | { name?: string };
  roles?: string[];
  permissions?: string[];
}

export async function loadIdentity(fallbackName: string): Promise<Identity> {
  try {
    const who = await api.get<WhoAmI>('/auth/whoami');
    const tokenName = typeof who.token === 'string' ? who.token : who.token?.name;
    return {
      name: who.user ?? who.name ?? tokenName ?? fallbackName,
      roles: who.roles ?? [],
      permissions: Array.isArray(who.permissions) ? new Set(who.permissions) : undefined,
    };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { name: fallbackName, roles: [], permissions: undefined };
    throw error;
  }
}

/** Undefined when allowed (or unknown); otherwise the reason shown beside the disabled control. */
export function lacks(identity: Identity | undefined, permission: string): string | undefined {
  if (!identity?.permissions || identity.permissions.has(permission)) return undefined;
  const roles = identity.roles.length > 0 ? identity.roles.join(', ') : 'no role';
  return `Needs the ${permission} permission; you have ${roles}.`;
}
