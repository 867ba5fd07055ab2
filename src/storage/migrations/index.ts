import { inspect } from 'node:util';
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { SqlDialect } from '../connection.js';
import { initialMigration } from './0001_initial.js';
import { keyLifecycleMigration } from './0002_key_lifecycle.js';
import { auditMigration } from './0003_audit.js';
import { policiesMigration } from './0004_policies.js';
import { accessMigration } from './0005_access.js';
import { keystoreQuotasMigration } from './0006_keystore_quotas.js';
import { keysUpdatedAtIndexMigration } from './0007_keys_updated_at_index.js';
import { loginAttemptsMigration } from './0008_login_attempts.js';

/**
 * Every migration, in order, listed in code rather than found by scanning a folder, so the
 * set is the same under tsx, compiled JS and bundling. Names sort in the order they run.
 */
function migrations(dialect: SqlDialect): Record<string, Migration> {
  return {
    '0001_initial': initialMigration(dialect),
    '0002_key_lifecycle': keyLifecycleMigration(dialect),
    '0003_audit': auditMigration(dialect),
    '0004_policies': policiesMigration(dialect),
    '0005_access': accessMigration(dialect),
    '0006_keystore_quotas': keystoreQuotasMigration(dialect),
    '0007_keys_updated_at_index': keysUpdatedAtIndexMigration(),
    '0008_login_attempts': loginAttemptsMigration(),
  };
}

/** Brings the schema up to date. Safe to run on every start and from several nodes at once (Kysely takes a lock). */
export async function migrateToLatest<DB>(db: Kysely<DB>, dialect: SqlDialect): Promise<void> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(dialect)) };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? '(setup)';
    const reason = error instanceof Error ? error.message : inspect(error);
    throw new Error(`database migration ${failed} failed: ${reason}`, { cause: error });
  }
}
