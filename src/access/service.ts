import type { Clock } from '../core/clock.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import { discardAdminEvents, type AdminEventSink } from '../audit/admin-events.js';
import { PERMISSIONS, type Actor } from '../admin/permissions.js';
import { matchesAnyToken } from '../admin/token.js';
import { translateStoreError } from '../storage/translate-error.js';
import type { Store } from '../storage/store.js';
import { createAccessStore, type ApiToken, type User } from './access-store.js';
import { AccessDenied } from './errors.js';
import { createLoginLimiter } from './login-limiter.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { isRoleName, permissionsOf, ROLE_NAMES, type RoleName } from './roles.js';
import { generateApiToken, hashToken, LOGIN_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS } from './tokens.js';

export interface AccessServiceDeps {
  store: Store;
  clock: Clock;
  newId: () => string;
  events?: AdminEventSink;
  /** Password hashing cost (tests lower it); defaults to SCRYPT_PARAMS. */
  scryptParams?: { N: number; r: number; p: number };
}

export interface UserView {
  name: string;
  roles: RoleName[];
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface TokenView {
  id: string;
  name: string;
  user?: string;
  role?: RoleName;
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
  status: 'active' | 'expired' | 'revoked';
}

/** The bootstrap token from `init` acts as an administrator until retired. */
export const BOOTSTRAP_ACTOR: Actor = { kind: 'token', id: 'bootstrap', name: 'bootstrap', permissions: new Set(PERMISSIONS) };

const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const TOKEN_NAME = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;
const DEFAULT_TOKEN_TTL_MS = 90 * 24 * 60 * 60 * 1000;
/** last_used_at is written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const eventActor = (actor: Actor) => ({ kind: actor.kind, id: actor.id, name: actor.name });

export function parseRoles(names: readonly string[]): RoleName[] {
  const unknown = names.filter((n) => !isRoleName(n));
  if (unknown.length > 0) throw invalid(`unknown role "${unknown[0]}"; roles are ${ROLE_NAMES.join(', ')}`);
  return [...new Set(names as RoleName[])];
}

/** Users, their passwords and roles, API tokens, login, and turning a bearer token into an Actor. */
export function createAccessService({ store, clock, newId, events = discardAdminEvents, scryptParams }: AccessServiceDeps) {
  const access = createAccessStore(store);
  const limiter = createLoginLimiter({ clock });
  const usersById = new Map<string, string>();

  const userView = (u: User): UserView => ({
    name: u.name,
    roles: u.roles,
    disabled: u.disabled,
    createdAt: new Date(u.createdAt).toISOString(),
    updatedAt: new Date(u.updatedAt).toISOString(),
  });

  const tokenStatus = (t: ApiToken): TokenView['status'] =>
    t.revokedAt !== undefined ? 'revoked' : t.expiresAt !== undefined && t.expiresAt <= clock.now() ? 'expired' : 'active';

  async function userName(id: string): Promise<string> {
    if (!usersById.has(id)) usersById.set(id, (await access.getUser(id))?.name ?? id);
    return usersById.get(id)!;
  }

  async function tokenView(t: ApiToken): Promise<TokenView> {
    return {
      id: t.id,
      name: t.name,
      user: t.userId === undefined ? undefined : await userName(t.userId),
      role: t.role,
      createdBy: t.createdBy,
      createdAt: new Date(t.createdAt).toISOString(),
      expiresAt: iso(t.expiresAt),
      lastUsedAt: iso(t.lastUsedAt),
      revokedAt: iso(t.revokedAt),
      status: tokenStatus(t),
    };
  }

  async function requireUser(name: string): Promise<User> {
    const user = await access.getUserByName(name);
    if (!user) throw notFound(`no user named "${name}"`);
    return user;
  }

  async function hasBootstrapToken(): Promise<boolean> {
    return (await access.bootstrapTokenHashes()).length > 0;
  }

  /** Refuses a change that would leave nobody able to administer the node. */
  async function keepAnAdministrator(user: User, after: { roles: RoleName[]; disabled: boolean }): Promise<void> {
    const wasAdmin = !user.disabled && user.roles.includes('administrator');
    const isAdmin = !after.disabled && after.roles.includes('administrator');
    if (!wasAdmin || isAdmin) return;
    if ((await access.countActiveUsersWithRole('administrator')) <= 1 && !(await hasBootstrapToken())) {
      throw conflict(
        `"${user.name}" is the last active administrator and the bootstrap token is retired; make another administrator first`,
      );
    }
  }

  async function issueToken(input: { name: string; userId?: string; role?: RoleName; ttlMs: number; createdBy: string }) {
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
    await translateStoreError(() => access.createToken(record));
    return { token, view: await tokenView(record) };
  }

  /** Checks a token request before it runs or is sent for approval. */
  async function checkToken(input: { name: string; user?: string; role?: string; ttlHours?: number }) {
    if (!TOKEN_NAME.test(input.name)) throw invalid('token name must be 1-64 printable characters');
    if ((input.user === undefined) === (input.role === undefined)) throw invalid('give exactly one of a user or a role for the token');
    const ttlMs = input.ttlHours === undefined ? DEFAULT_TOKEN_TTL_MS : input.ttlHours * 3_600_000;
    if (!(ttlMs > 0 && ttlMs <= MAX_TOKEN_TTL_MS))
      throw invalid(`token lifetime must be more than 0 and at most ${MAX_TOKEN_TTL_MS / 3_600_000} hours`);
    const userId = input.user === undefined ? undefined : (await requireUser(input.user)).id;
    const role = input.role === undefined ? undefined : parseRoles([input.role])[0];
    return { ttlMs, userId, role };
  }

  return {
    async createUser(input: { name: string; password: string }, actor: Actor): Promise<UserView> {
      if (!USER_NAME.test(input.name)) throw invalid('user name must be 1-64 characters of A-Z a-z 0-9 . _ @ -');
      const problem = passwordProblem(input.password);
      if (problem) throw invalid(problem);
      if (await access.getUserByName(input.name)) throw conflict(`user "${input.name}" already exists`);
      const now = clock.now();
      const user: User = {
        id: newId(),
        name: input.name,
        passwordHash: await hashPassword(input.password, scryptParams),
        roles: [],
        disabled: false,
        createdAt: now,
        updatedAt: now,
      };
      await translateStoreError(() => access.createUser(user));
      await events.record({ actor: eventActor(actor), action: 'user.create', target: { user: user.name }, outcome: 'success' });
      return userView(user);
    },

    async listUsers(): Promise<UserView[]> {
      return (await access.listUsers()).map(userView);
    },

    async showUser(name: string): Promise<UserView> {
      return userView(await requireUser(name));
    },

    /** Checks that a user exists and the roles are known (before an approval request is stored). */
    async checkRoles(name: string, roles: readonly string[]): Promise<RoleName[]> {
      await requireUser(name);
      return parseRoles(roles);
    },

    async setRoles(name: string, roles: readonly string[], actor: Actor): Promise<UserView> {
      const user = await requireUser(name);
      const parsed = parseRoles(roles);
      await keepAnAdministrator(user, { roles: parsed, disabled: user.disabled });
      await access.updateUser(user.id, { roles: parsed }, clock.now());
      await events.record({
        actor: eventActor(actor),
        action: 'user.set-roles',
        target: { user: name, roles: parsed.join(',') },
        outcome: 'success',
      });
      return userView((await access.getUser(user.id))!);
    },

    async setDisabled(name: string, disabled: boolean, actor: Actor): Promise<UserView> {
      const user = await requireUser(name);
      if (disabled && actor.kind === 'user' && actor.id === user.id) throw invalid('you cannot disable yourself');
      await keepAnAdministrator(user, { roles: user.roles, disabled });
      await access.updateUser(user.id, { disabled }, clock.now());
      await events.record({
        actor: eventActor(actor),
        action: disabled ? 'user.disable' : 'user.enable',
        target: { user: name },
        outcome: 'success',
      });
      return userView((await access.getUser(user.id))!);
    },

    async setPassword(name: string, password: string, actor: Actor): Promise<UserView> {
      const user = await requireUser(name);
      const problem = passwordProblem(password);
      if (problem) throw invalid(problem);
      await access.updateUser(user.id, { passwordHash: await hashPassword(password, scryptParams) }, clock.now());
      await events.record({ actor: eventActor(actor), action: 'user.passwd', target: { user: name }, outcome: 'success' });
      return userView((await access.getUser(user.id))!);
    },

    /** Checks a password change before it is stored or sent for approval. */
    async checkPassword(name: string, password: string): Promise<void> {
      await requireUser(name);
      const problem = passwordProblem(password);
      if (problem) throw invalid(problem);
    },

    checkToken,

    /** A token for a user (acts with the user's current roles) or for a role (a service token). Shown once. */
    async createToken(
      input: { name: string; user?: string; role?: string; ttlHours?: number },
      actor: Actor,
    ): Promise<{ token: string; view: TokenView }> {
      const { ttlMs, userId, role } = await checkToken(input);
      const issued = await issueToken({ name: input.name, userId, role, ttlMs, createdBy: actor.name });
      await events.record({
        actor: eventActor(actor),
        action: 'token.create',
        target: { token: issued.view.id, name: input.name, user: input.user, role },
        outcome: 'success',
      });
      return issued;
    },

    async listTokens(user?: string): Promise<TokenView[]> {
      const userId = user === undefined ? undefined : (await requireUser(user)).id;
      return Promise.all((await access.listTokens(userId)).map(tokenView));
    },

    async revokeToken(id: string, actor: Actor): Promise<TokenView> {
      const token = await access.getToken(id);
      if (!token) throw notFound(`no token with id "${id}"`);
      if (!(await access.revokeToken(id, clock.now()))) throw conflict(`token "${id}" is already revoked`);
      await events.record({
        actor: eventActor(actor),
        action: 'token.revoke',
        target: { token: id, name: token.name },
        outcome: 'success',
      });
      return tokenView((await access.getToken(id))!);
    },

    /** Checks a password and issues a login token (12 hours). Failures are rate-limited per user name. */
    async login(name: string, password: string): Promise<{ token: string; view: TokenView }> {
      const wait = limiter.retryAfterMs(name);
      if (wait > 0) throw new AccessDenied(429, `too many failed logins for "${name}"; try again in ${Math.ceil(wait / 1000)} s`);
      const user = await access.getUserByName(name);
      // Unknown users cost a hash too, so timing does not tell which names exist.
      const good = await verifyPassword(
        password,
        user?.passwordHash ?? 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      );
      const loginActor = { kind: 'user' as const, id: user?.id ?? '-', name };
      if (!user || !good || user.disabled) {
        limiter.failed(name);
        await events.record({
          actor: loginActor,
          action: 'auth.login',
          target: { user: name },
          outcome: 'failure',
          detail: 'wrong user name or password',
        });
        throw new AccessDenied(401, 'wrong user name or password (or the user is disabled)');
      }
      limiter.succeeded(name);
      const issued = await issueToken({ name: 'login', userId: user.id, ttlMs: LOGIN_TOKEN_TTL_MS, createdBy: user.name });
      await events.record({ actor: loginActor, action: 'auth.login', target: { user: name, token: issued.view.id }, outcome: 'success' });
      return issued;
    },

    /** The Actor a bearer token stands for, or undefined (unknown, expired, revoked, disabled owner). */
    async authenticate(presented: string): Promise<(Actor & { tokenId?: string }) | undefined> {
      const token = await access.getTokenByHash(hashToken(presented));
      if (token) {
        const now = clock.now();
        if (tokenStatus(token) !== 'active') return undefined;
        let actor: Actor & { tokenId?: string };
        if (token.userId !== undefined) {
          const user = await access.getUser(token.userId);
          if (!user || user.disabled) return undefined;
          actor = { kind: 'user', id: user.id, name: user.name, permissions: permissionsOf(user.roles), tokenId: token.id };
        } else {
          actor = { kind: 'token', id: token.id, name: token.name, permissions: permissionsOf([token.role!]), tokenId: token.id };
        }
        if (token.lastUsedAt === undefined || now - token.lastUsedAt >= TOUCH_EVERY_MS) await access.touchToken(token.id, now);
        return actor;
      }
      return matchesAnyToken(presented, await access.bootstrapTokenHashes()) ? BOOTSTRAP_ACTOR : undefined;
    },

    /** Deletes the bootstrap token once an active user holds the administrator role. */
    async retireBootstrap(actor: Actor): Promise<{ retired: number }> {
      if ((await access.countActiveUsersWithRole('administrator')) === 0) {
        throw conflict('no active user holds the administrator role; create one (keyhold user create --roles administrator) first');
      }
      const retired = await access.deleteBootstrapTokens();
      if (retired === 0) throw conflict('the bootstrap token is already retired');
      await events.record({ actor: eventActor(actor), action: 'token.retire-bootstrap', outcome: 'success' });
      return { retired };
    },

    /** The roles a user holds now ([] when unknown or disabled). */
    rolesOf: async (userId: string): Promise<RoleName[]> => {
      const user = await access.getUser(userId);
      return user && !user.disabled ? user.roles : [];
    },

    userExists: async (name: string): Promise<boolean> => {
      const user = await access.getUserByName(name);
      return user !== undefined && !user.disabled;
    },

    async bootstrapActive(): Promise<boolean> {
      return hasBootstrapToken();
    },
  };
}

export type AccessService = ReturnType<typeof createAccessService>;
