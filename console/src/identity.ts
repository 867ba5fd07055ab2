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

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : isObject(value) ? text(value.name) : undefined);
const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;

/** Reads whoami's answer (docs/access.md#whoami): `{ kind, name, roles, permissions }`. */
export function parseWhoAmI(answer: unknown, fallbackName: string): Identity {
  const top = isObject(answer) ? answer : {};
  const permissions = strings(top.permissions);
  return {
    name: text(top.name) ?? fallbackName,
    roles: strings(top.roles) ?? [],
    permissions: permissions ? new Set(permissions) : undefined,
  };
}

export async function loadIdentity(fallbackName: string): Promise<Identity> {
  try {
    return parseWhoAmI(await api.get<unknown>('/auth/whoami'), fallbackName);
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
