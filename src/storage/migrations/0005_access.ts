import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from '../connection.js';

const binary = (dialect: SqlDialect) => (dialect === 'postgres' ? 'bytea' : 'blob');

/**
 * Users, API tokens, approval policies and approval requests (src/access/, src/approvals/).
 * The v0.1 `admin_tokens` table stays: its rows are the bootstrap token(s) from `init`, which act as an
 * administrator until retired (`keyhold token retire-bootstrap` deletes them).
 */
export function accessMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        // `scrypt$N$r$p$salt$hash` (base64url), parameters kept with the hash.
        .addColumn('password_hash', 'text', (c) => c.notNull())
        // Role names, comma-separated.
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) =>
          c
            .notNull()
            .defaultTo(0)
            .check(sql`disabled in (0, 1)`),
        )
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('users_name_unique', ['name'])
        .execute();

      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        // SHA-256 of the token: tokens are 256-bit random, so a fast hash is enough.
        .addColumn('token_hash', binary(dialect), (c) => c.notNull())
        // Exactly one of user_id (a user's token) and role (a service token) is set.
        .addColumn('user_id', 'text', (c) => c.references('users.id'))
        .addColumn('role', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addUniqueConstraint('api_tokens_token_hash_unique', ['token_hash'])
        .addCheckConstraint('api_tokens_owner', sql`(user_id is null) <> (role is null)`)
        .execute();
      await db.schema.createIndex('api_tokens_user_idx').on('api_tokens').column('user_id').execute();

      await db.schema
        .createTable('approval_policies')
        // A group id, or `*` for node-wide operations (role changes).
        .addColumn('group_id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('approval_requests')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text', (c) => c.notNull())
        .addColumn('group_name', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        // Plain JSON replayed to the executor; for operations whose input or result is secret, only a digest.
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('requester_kind', 'text', (c) => c.notNull())
        .addColumn('requester_id', 'text', (c) => c.notNull())
        .addColumn('requester_name', 'text', (c) => c.notNull())
        // The approvers and quorum as they were when requested (JSON).
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('approval_requests_status_idx').on('approval_requests').column('status').execute();

      await db.schema
        .createTable('approval_votes')
        .addColumn('request_id', 'text', (c) => c.notNull().references('approval_requests.id'))
        .addColumn('voter_id', 'text', (c) => c.notNull())
        .addColumn('voter_name', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        // An approver counts once.
        .addPrimaryKeyConstraint('approval_votes_pk', ['request_id', 'voter_id'])
        .execute();
    },

    async down(db: Kysely<unknown>) {
      for (const table of ['approval_votes', 'approval_requests', 'approval_policies', 'api_tokens', 'users']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
