import type { Kysely } from 'kysely';
import { constraintViolation } from '../storage/db-errors.js';
import { StoreConflictError, type Store } from '../storage/store.js';
import type { RoleName } from './roles.js';

type UserRow = {
  id: string;
  name: string;
  password_hash: string;
  roles: string;
  disabled: number;
  created_at: number;
  updated_at: number;
};

type ApiTokenRow = {
  id: string;
  name: string;
  token_hash: Buffer;
  user_id: string | null;
  role: string | null;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
};

type BootstrapTokenRow = {
  id: string;
  name: string;
  token_hash: Buffer;
  created_at: number;
};

export type AccessTables = {
  users: UserRow;
  api_tokens: ApiTokenRow;
  /** The v0.1 table: the bootstrap token(s) from `init`. */
  admin_tokens: BootstrapTokenRow;
};

export interface User {
  id: string;
  name: string;
  passwordHash: string;
  roles: RoleName[];
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ApiToken {
  id: string;
  name: string;
  tokenHash: Buffer;
  userId?: string;
  role?: RoleName;
  createdBy: string;
  createdAt: number;
  expiresAt?: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

const toUser = (r: UserRow): User => ({
  id: r.id,
  name: r.name,
  passwordHash: r.password_hash,
  roles: r.roles === '' ? [] : (r.roles.split(',') as RoleName[]),
  disabled: Number(r.disabled) === 1,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

const opt = (value: number | null) => (value === null ? undefined : Number(value));

const toToken = (r: ApiTokenRow): ApiToken => ({
  id: r.id,
  name: r.name,
  tokenHash: r.token_hash,
  userId: r.user_id ?? undefined,
  role: (r.role ?? undefined) as RoleName | undefined,
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
  expiresAt: opt(r.expires_at),
  lastUsedAt: opt(r.last_used_at),
  revokedAt: opt(r.revoked_at),
});

/** Users and API tokens in the node's database (SQLite or PostgreSQL). */
export function createAccessStore(store: Store) {
  const db = store.db.withTables<AccessTables>() as unknown as Kysely<AccessTables>;

  async function uniquely<T>(write: () => Promise<T>, what: string): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (constraintViolation(error)?.kind === 'unique') throw new StoreConflictError(`${what} already exists`);
      throw error;
    }
  }

  return {
    async createUser(user: User): Promise<void> {
      await uniquely(
        () =>
          db
            .insertInto('users')
            .values({
              id: user.id,
              name: user.name,
              password_hash: user.passwordHash,
              roles: user.roles.join(','),
              disabled: user.disabled ? 1 : 0,
              created_at: user.createdAt,
              updated_at: user.updatedAt,
            })
            .execute(),
        `user "${user.name}"`,
      );
    },

    async getUserByName(name: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toUser(row);
    },

    async getUser(id: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toUser(row);
    },

    async listUsers(): Promise<User[]> {
      return (await db.selectFrom('users').selectAll().orderBy('name').execute()).map(toUser);
    },

    async updateUser(id: string, changes: { roles?: RoleName[]; disabled?: boolean; passwordHash?: string }, at: number): Promise<void> {
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

    /** Active (not disabled) users holding a role. */
    async countActiveUsersWithRole(role: RoleName): Promise<number> {
      const users = await db.selectFrom('users').select(['roles']).where('disabled', '=', 0).execute();
      return users.filter((u) => u.roles.split(',').includes(role)).length;
    },

    async createToken(token: ApiToken): Promise<void> {
      await uniquely(
        () =>
          db
            .insertInto('api_tokens')
            .values({
              id: token.id,
              name: token.name,
              token_hash: token.tokenHash,
              user_id: token.userId ?? null,
              role: token.role ?? null,
              created_by: token.createdBy,
              created_at: token.createdAt,
              expires_at: token.expiresAt ?? null,
              last_used_at: null,
              revoked_at: null,
            })
            .execute(),
        'token',
      );
    },

    async getTokenByHash(hash: Buffer): Promise<ApiToken | undefined> {
      const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      return row && toToken(row);
    },

    async getToken(id: string): Promise<ApiToken | undefined> {
      const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toToken(row);
    },

    async listTokens(userId?: string): Promise<ApiToken[]> {
      let query = db.selectFrom('api_tokens').selectAll();
      if (userId !== undefined) query = query.where('user_id', '=', userId);
      return (await query.orderBy('created_at').orderBy('id').execute()).map(toToken);
    },

    /** Revokes a token; false when it was already revoked (or does not exist). */
    async revokeToken(id: string, at: number): Promise<boolean> {
      const result = await db
        .updateTable('api_tokens')
        .set({ revoked_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async touchToken(id: string, at: number): Promise<void> {
      await db.updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
    },

    async bootstrapTokenHashes(): Promise<Buffer[]> {
      return (await db.selectFrom('admin_tokens').select(['token_hash']).execute()).map((r) => r.token_hash);
    },

    /** Deletes the bootstrap token(s); returns how many there were. */
    async deleteBootstrapTokens(): Promise<number> {
      const result = await db.deleteFrom('admin_tokens').executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type AccessStore = ReturnType<typeof createAccessStore>;
