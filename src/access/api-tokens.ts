import { conflict, invalid, notFound } from '../core/errors.js';
import { translateStoreError } from '../storage/translate-error.js';
import { actorRef } from './actor.js';
import type { ApiToken } from './access-store.js';
import { isoTime, requireUser, type AccessContext } from './context.js';
import { parseRoles, type RoleName } from './roles.js';
import type { IssuedToken, TokenAdministration, TokenView } from './service.js';
import { generateApiToken, hashToken, MAX_TOKEN_TTL_MS } from './tokens.js';

const TOKEN_NAME = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;
const DEFAULT_TOKEN_TTL_MS = 90 * 24 * 60 * 60 * 1000;
const HOUR_MS = 3_600_000;

const optionalIso = (ms: number | undefined) => (ms === undefined ? undefined : isoTime(ms));

/** Issues tokens and shows them; shared by token administration and login. */
export interface TokenIssuer {
  issue(input: { name: string; userId?: string; role?: RoleName; ttlMs: number; createdBy: string }): Promise<IssuedToken>;
  view(token: ApiToken): Promise<TokenView>;
  status(token: ApiToken): TokenView['status'];
}

export function createTokenIssuer({ store, clock, newId }: AccessContext): TokenIssuer {
  /** User names by id (names never change), so listing tokens reads each owner once. */
  const userNames = new Map<string, string>();
  async function userName(id: string): Promise<string> {
    let name = userNames.get(id);
    if (name === undefined) {
      name = (await store.getUser(id))?.name ?? id;
      userNames.set(id, name);
    }
    return name;
  }

  const status = (t: ApiToken): TokenView['status'] =>
    t.revokedAt !== undefined ? 'revoked' : t.expiresAt !== undefined && t.expiresAt <= clock.now() ? 'expired' : 'active';

  async function view(t: ApiToken): Promise<TokenView> {
    return {
      id: t.id,
      name: t.name,
      user: t.userId === undefined ? undefined : await userName(t.userId),
      role: t.role,
      createdBy: t.createdBy,
      createdAt: isoTime(t.createdAt),
      expiresAt: optionalIso(t.expiresAt),
      lastUsedAt: optionalIso(t.lastUsedAt),
      revokedAt: optionalIso(t.revokedAt),
      status: status(t),
    };
  }

  return {
    async issue(input) {
      const token = generateApiToken();
      const record: ApiToken = {
        id: newId(),
        name: input.name,
        tokenHash: hashToken(token),
        userId: input.userId,
        role: input.role,
        createdBy: input.createdBy,
        createdAt: clock.now(),
        expiresAt: clock.now() + input.ttlMs,
      };
      await translateStoreError(() => store.createToken(record));
      return { token, view: await view(record) };
    },
    view,
    status,
  };
}

/** API tokens of users and roles (the TokenAdministration part of the access service). */
export function createTokenAdministration(context: AccessContext, issuer: TokenIssuer): TokenAdministration {
  const { store, clock, events } = context;

  const checkToken: TokenAdministration['checkToken'] = async (input) => {
    if (!TOKEN_NAME.test(input.name)) throw invalid('token name must be 1-64 printable characters');
    if ((input.user === undefined) === (input.role === undefined)) throw invalid('give exactly one of a user or a role for the token');
    const ttlMs = input.ttlHours === undefined ? DEFAULT_TOKEN_TTL_MS : input.ttlHours * HOUR_MS;
    if (!(ttlMs > 0 && ttlMs <= MAX_TOKEN_TTL_MS))
      throw invalid(`token lifetime must be more than 0 and at most ${MAX_TOKEN_TTL_MS / HOUR_MS} hours`);
    const userId = input.user === undefined ? undefined : (await requireUser(store, input.user)).id;
    const role = input.role === undefined ? undefined : parseRoles([input.role])[0];
    return { ttlMs, userId, role };
  };

  return {
    checkToken,

    async createToken(input, actor) {
      const { ttlMs, userId, role } = await checkToken(input);
      const issued = await issuer.issue({ name: input.name, userId, role, ttlMs, createdBy: actor.name });
      await events.record({
        actor: actorRef(actor),
        action: 'token.create',
        target: { token: issued.view.id, name: input.name, user: input.user, role },
        outcome: 'success',
      });
      return issued;
    },

    async listTokens(user) {
      const userId = user === undefined ? undefined : (await requireUser(store, user)).id;
      return Promise.all((await store.listTokens(userId)).map((t) => issuer.view(t)));
    },

    async revokeToken(id, actor) {
      const token = await store.getToken(id);
      if (!token) throw notFound(`no token with id "${id}"`);
      const at = clock.now();
      if (!(await store.revokeToken(id, at))) throw conflict(`token "${id}" is already revoked`);
      await events.record({
        actor: actorRef(actor),
        action: 'token.revoke',
        target: { token: id, name: token.name },
        outcome: 'success',
      });
      return issuer.view({ ...token, revokedAt: at });
    },
  };
}
