import type { Kysely, Migration } from 'kysely';

/**
 * Login attempts per user name in the current window (src/access/sql-login-attempt-store.ts), in the
 * database so that the failed-login limiter holds across every node of a fleet, not per node.
 */
export function loginAttemptsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('login_attempts')
        .addColumn('user_name', 'text', (c) => c.primaryKey())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('login_attempts_window_idx').on('login_attempts').column('window_start').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('login_attempts').execute();
    },
  };
}
