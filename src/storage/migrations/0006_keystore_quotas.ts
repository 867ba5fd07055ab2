import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from '../connection.js';

/**
 * Per-keystore request quotas (docs/throttling.md): requests a second and burst, both null for none.
 * SQLite adds one column per ALTER TABLE, so each column is its own statement.
 */
export function keystoreQuotasMigration(dialect: SqlDialect): Migration {
  const real = dialect === 'postgres' ? 'double precision' : 'real';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('keystores').addColumn('quota_rps', sql.raw(real)).execute();
      await db.schema.alterTable('keystores').addColumn('quota_burst', 'integer').execute();
    },

    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('keystores').dropColumn('quota_burst').execute();
      await db.schema.alterTable('keystores').dropColumn('quota_rps').execute();
    },
  };
}
