import { existsSync, readFileSync } from 'node:fs';
import type { Clock } from '../core/clock.js';
import type { DataDirPaths } from '../core/data-dir.js';
import { openRootOfTrust } from '../roots/open-root.js';
import { readRootConfig } from '../roots/root-config.js';
import { openDatabase } from '../storage/open-database.js';
import { recordCliEvent } from './backup-audit.js';
import { BackupError } from './backup-error.js';
import { writeTables } from './restore.js';
import { takeSnapshot } from './snapshot.js';

const isPostgresUrl = (url: string) => /^postgres(ql)?:\/\//i.test(url);

/**
 * `keyhold migrate --to postgres://…`: copies an embedded node's whole state, the full audit log
 * included, from its SQLite file into an empty PostgreSQL database, in one read transaction on the
 * source and one write transaction on the target. The key material stays wrapped as it is, so every
 * node on that database opens it with the same root of trust. The copy is recorded in the target's audit
 * log. Changes made on the source after the snapshot are not copied: stop the node first.
 */
export async function migrateToPostgres(options: {
  paths: DataDirPaths;
  to: string;
  clock: Clock;
}): Promise<{ rows: number; counts: Record<string, number> }> {
  const { paths } = options;
  if (!isPostgresUrl(options.to)) throw new BackupError('--to must be a postgres:// or postgresql:// URL');
  if (!existsSync(paths.nodeId)) throw new BackupError(`${paths.root} is not a Keyhold data directory (no node-id)`);
  if (!existsSync(paths.database)) throw new BackupError(`no SQLite database in ${paths.root} to migrate`);
  const nodeId = readFileSync(paths.nodeId, 'utf8').trim();
  const source = await openDatabase({ sqlitePath: paths.database });
  let tables;
  try {
    tables = await takeSnapshot(source, { withAudit: true, clock: options.clock });
  } finally {
    await source.close();
  }
  let target;
  try {
    target = await openDatabase({ databaseUrl: options.to });
  } catch (error) {
    throw new BackupError(`cannot open the target database: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    await writeTables(target, tables, { replace: false });
    const counts = Object.fromEntries(tables.map((t) => [t.name, t.rows.length]));
    const root = await openRootOfTrust(paths, readRootConfig(paths.rootConfig));
    try {
      await recordCliEvent({
        database: target,
        root,
        nodeId,
        clock: options.clock,
        event: {
          action: 'migrate.postgres',
          outcome: 'success',
          target: { node: nodeId, keys: counts.keys ?? 0 },
          detail: `copied the embedded node's state from SQLite into this database`,
        },
      });
    } finally {
      await root.close();
    }
    return { rows: tables.reduce((n, t) => n + t.rows.length, 0), counts };
  } finally {
    await target.close();
  }
}
