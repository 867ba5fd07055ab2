import type { DatabaseConnection } from '../storage/connection.js';
import { refusedBy } from '../storage/db-errors.js';
import type { AccessStore, ApiToken, BootstrapToken, User } from './access-store.js';
import { isRoleName, type RoleName } from './roles.js';

/** The access tables (migration 0005_access; admin_tokens is v0.1's, 0001_initial). */
interface AccessTables {
  users: UserRow;
  api_tokens: ApiTokenRow;
  /** The bootstrap token(s) from `init`. */
  admin_tokens: BootstrapTokenRow;
}

interface UserRow {
  id: string;
  name: string;
  password_hash: string;
  /** Role names, comma-separated. */
  roles: string;
  /** 0 or 1. */
  disabled: number;
  created_at: number;
  updated_at: number;
}

interface ApiTokenRow {
  id: string;
  name: string;
  token_hash: Buffer;
  user_id: string | null;
  /** Only roles the service wrote (it checks them first). */
  role: RoleName | null;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

interface BootstrapTokenRow {
  id: string;
  name: string;
  token_hash: Buffer;
  created_at: number;
}

const optional = (value: number | null) => (value === null ? undefined : Number(value));

const toUser = (r: UserRow): User => ({
  id: r.id,
  name: r.name,
  passwordHash: r.password_hash,
  roles: r.roles.split(',').filter(isRoleName),
  disabled: Number(r.disabled) === 1,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

const userRow = (u: User): UserRow => ({
  id: u.id,
  name: u.name,
  password_hash: u.passwordHash,
  roles: u.roles.join(','),
  disabled: u.disabled ? 1 : 0,
  created_at: u.createdAt,
  updated_at: u.updatedAt,
});

const toToken = (r: ApiTokenRow): ApiToken => ({
  id: r.id,
  name: r.name,
  tokenHash: r.token_hash,
  userId: r.user_id ?? undefined,
  role: r.role ?? undefined,
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
  expiresAt: optional(r.expires_at),
  lastUsedAt: optional(r.last_used_at),
  revokedAt: optional(r.revoked_at),
});

const tokenRow = (t: ApiToken): ApiTokenRow => ({
  id: t.id,
  name: t.name,
  token_hash: t.tokenHash,
  user_id: t.userId ?? null,
  role: t.role ?? null,
  created_by: t.createdBy,
  created_at: t.createdAt,
  expires_at: t.expiresAt ?? null,
  last_used_at: t.lastUsedAt ?? null,
  revoked_at: t.revokedAt ?? null,
});

const toBootstrapToken = (r: BootstrapTokenRow): BootstrapToken => ({
  id: r.id,
  name: r.name,
  tokenHash: r.token_hash,
  createdAt: Number(r.created_at),
});

/** Runs an insert; a uniqueness violation becomes StoreConflictError(`<what> already exists`). */
const uniquely = (write: () => Promise<unknown>, what: string) => refusedBy('unique', `${what} already exists`, write);

/** The access store on the node's database. */
export function createAccessStore(connection: DatabaseConnection): AccessStore {
  const db = connection.tables<AccessTables>();
  const userWhere = async (column: 'id' | 'name', value: string) => {
    const row = await db.selectFrom('users').selectAll().where(column, '=', value).executeTakeFirst();
    return row && toUser(row);
  };

  return {
    async createUser(user) {
      await uniquely(() => db.insertInto('users').values(userRow(user)).execute(), `user "${user.name}"`);
    },

    getUser: (id) => userWhere('id', id),
    getUserByName: (name) => userWhere('name', name),

    async listUsers() {
      return (await db.selectFrom('users').selectAll().orderBy('name').execute()).map(toUser);
    },

    async updateUser(id, changes, at) {
      await db
        .updateTable('users')
        .set({
          updated_at: at,
          ...(changes.roles ? { roles: changes.roles.join(',') } : {}),
          ...(changes.disabled === undefined ? {} : { disabled: changes.disabled ? 1 : 0 }),
          ...(changes.passwordHash ? { password_hash: changes.passwordHash } : {}),
        })
        .where('id', '=', id)
        .execute();
    },

    async countActiveUsersWithRole(role) {
      const users = await db.selectFrom('users').select(['roles']).where('disabled', '=', 0).execute();
      return users.filter((u) => u.roles.split(',').includes(role)).length;
    },

    async createToken(token) {
      await uniquely(() => db.insertInto('api_tokens').values(tokenRow(token)).execute(), 'token');
    },

    async getToken(id) {
      const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toToken(row);
    },

    async getTokenByHash(hash) {
      const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      return row && toToken(row);
    },

    async listTokens(userId) {
      let query = db.selectFrom('api_tokens').selectAll();
      if (userId !== undefined) query = query.where('user_id', '=', userId);
      return (await query.orderBy('created_at').orderBy('id').execute()).map(toToken);
    },

    async revokeToken(id, at) {
      const result = await db
        .updateTable('api_tokens')
        .set({ revoked_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async touchToken(id, at) {
      await db.updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
    },

    async createBootstrapToken(token) {
      await uniquely(
        () =>
          db
            .insertInto('admin_tokens')
            .values({ id: token.id, name: token.name, token_hash: token.tokenHash, created_at: token.createdAt })
            .execute(),
        'a bootstrap token with this id or hash',
      );
    },

    async listBootstrapTokens() {
      return (await db.selectFrom('admin_tokens').selectAll().orderBy('created_at').orderBy('id').execute()).map(toBootstrapToken);
    },

    async deleteBootstrapTokens() {
      const result = await db.deleteFrom('admin_tokens').executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
