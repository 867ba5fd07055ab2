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
import { changesMigration } from './0008_changes.js';
import { nodeStatusMigration } from './0009_node_status.js';
import { keySearchMigration } from './0010_key_search.js';
import { approvalVoteCommentsMigration } from './0011_approval_vote_comments.js';
import { loginAttemptsMigration } from './0012_login_attempts.js';

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
    '0008_changes': changesMigration(dialect),
    '0009_node_status': nodeStatusMigration(),
    '0010_key_search': keySearchMigration(),
    '0011_approval_vote_comments': approvalVoteCommentsMigration(),
    '0012_login_attempts': loginAttemptsMigration(),
  };
}

/** The newest migration this version of Keyhold knows. */
export const LATEST_MIGRATION = '0012_login_attempts';

/**
 * A database whose schema a newer Keyhold has migrated past what this version knows (a rolling upgrade
 * that started a newer node first, docs/fleet.md#upgrades). The node refuses to start rather than run
 * on tables it does not understand.
 */
export class SchemaTooNewError extends Error {
  constructor(readonly unknownMigration: string) {
    super(
      `the database schema is newer than this Keyhold knows: migration ${unknownMigration} was applied by a newer version ` +
        `(this one knows up to ${LATEST_MIGRATION}); upgrade this node to the fleet's version`,
    );
    this.name = 'SchemaTooNewError';
  }
}

/** Brings the schema up to date. Safe to run on every start and from several nodes at once (Kysely takes a lock). */
export async function migrateToLatest<DB>(db: Kysely<DB>, dialect: SqlDialect): Promise<void> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(dialect)) };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error !== undefined) {
    // Kysely's words for "the database has a migration this code does not": a newer node migrated it.
    const unknown = error instanceof Error ? /previously executed migration (\S+) is missing/.exec(error.message)?.[1] : undefined;
    if (unknown !== undefined) throw new SchemaTooNewError(unknown);
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? '(setup)';
    const reason = error instanceof Error ? error.message : inspect(error);
    throw new Error(`database migration ${failed} failed: ${reason}`, { cause: error });
  }
}
