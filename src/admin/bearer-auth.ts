import type { Permission } from '../access/permissions.js';
import type { AuthenticatedActor, Authentication } from '../access/service.js';

export type BearerCheck = { ok: true; actor: AuthenticatedActor } | { ok: false; status: 401 | 403; error: string };

/**
 * Who presents this `Authorization: Bearer …` header, and may they do what `permission` guards?
 * The one check behind every admin route and `GET /metrics`.
 */
export async function checkBearer(
  access: Pick<Authentication, 'authenticate'>,
  header: unknown,
  permission?: Permission,
): Promise<BearerCheck> {
  const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  const actor = token ? await access.authenticate(token) : undefined;
  if (!actor) return { ok: false, status: 401, error: 'missing or invalid admin token (unknown, expired or revoked)' };
  if (permission && !actor.permissions.has(permission)) return { ok: false, status: 403, error: `this needs the ${permission} permission` };
  return { ok: true, actor };
}
