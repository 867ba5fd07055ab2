import { conflict } from '../core/errors.js';
import { translateStoreError } from '../storage/translate-error.js';
import { actorRef, BOOTSTRAP_ACTOR } from './actor.js';
import type { TokenIssuer } from './api-tokens.js';
import type { AccessContext } from './context.js';
import { AccessDenied } from './errors.js';
import type { LoginLimiter } from './login-limiter.js';
import { verifyPassword } from './passwords.js';
import { permissionsOf } from './roles.js';
import type { Authentication, AuthenticatedActor } from './service.js';
import { hashToken, LOGIN_TOKEN_TTL_MS, matchesAnyToken } from './tokens.js';

/** last_used_at is written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;
/** Verified when the user does not exist, so timing does not tell which names exist. */
const NO_SUCH_USER_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** Login and bearer tokens (the Authentication part of the access service). */
export function createAuthentication(context: AccessContext, issuer: TokenIssuer, limiter: LoginLimiter): Authentication {
  const { store, clock, newId, events } = context;

  return {
    async login(name, password) {
      const wait = await limiter.attempt(name);
      if (wait > 0) throw new AccessDenied(429, `too many failed logins for "${name}"; try again in ${Math.ceil(wait / 1000)} s`);
      const user = await store.getUserByName(name);
      const good = await verifyPassword(password, user?.passwordHash ?? NO_SUCH_USER_HASH);
      const loginActor = { kind: 'user' as const, id: user?.id ?? '-', name };
      if (!user || !good || user.disabled) {
        await events.record({
          actor: loginActor,
          action: 'auth.login',
          target: { user: name },
          outcome: 'failure',
          detail: 'wrong user name or password',
        });
        throw new AccessDenied(401, 'wrong user name or password (or the user is disabled)');
      }
      await limiter.succeeded(name);
      const issued = await issuer.issue({ name: 'login', userId: user.id, ttlMs: LOGIN_TOKEN_TTL_MS, createdBy: user.name });
      await events.record({ actor: loginActor, action: 'auth.login', target: { user: name, token: issued.view.id }, outcome: 'success' });
      return issued;
    },

    async authenticate(presented) {
      const token = await store.getTokenByHash(hashToken(presented));
      if (!token) {
        const bootstrap = await store.listBootstrapTokens();
        return matchesAnyToken(
          presented,
          bootstrap.map((t) => t.tokenHash),
        )
          ? BOOTSTRAP_ACTOR
          : undefined;
      }
      if (issuer.status(token) !== 'active') return undefined;
      let actor: AuthenticatedActor;
      if (token.userId !== undefined) {
        const user = await store.getUser(token.userId);
        if (!user || user.disabled) return undefined;
        actor = {
          kind: 'user',
          id: user.id,
          name: user.name,
          permissions: permissionsOf(user.roles),
          roles: user.roles,
          tokenId: token.id,
        };
      } else if (token.role !== undefined) {
        actor = {
          kind: 'token',
          id: token.id,
          name: token.name,
          permissions: permissionsOf([token.role]),
          roles: [token.role],
          tokenId: token.id,
        };
      } else {
        return undefined;
      }
      const now = clock.now();
      if (token.lastUsedAt === undefined || now - token.lastUsedAt >= TOUCH_EVERY_MS) await store.touchToken(token.id, now);
      return actor;
    },

    async addBootstrapToken(token) {
      const record = { id: newId(), name: 'bootstrap', tokenHash: hashToken(token), createdAt: clock.now() };
      await translateStoreError(() => store.createBootstrapToken(record));
    },

    async retireBootstrap(actor) {
      if ((await store.countActiveUsersWithRole('administrator')) === 0) {
        throw conflict('no active user holds the administrator role; create one (keyhold user create --roles administrator) first');
      }
      const retired = await store.deleteBootstrapTokens();
      if (retired === 0) throw conflict('the bootstrap token is already retired');
      await events.record({ actor: actorRef(actor), action: 'token.retire-bootstrap', outcome: 'success' });
      return { retired };
    },
  };
}
