import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AdminEvent } from '../audit/admin-events.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { DataDirPaths } from '../core/data-dir.js';
import { openRootOfTrust } from '../roots/open-root.js';
import { readRootConfig, type RootConfig } from '../roots/root-config.js';
import type { DatabaseConnection } from '../storage/connection.js';
import { openDatabase } from '../storage/open-database.js';
import { recordCliEvent } from './backup-audit.js';
import { BackupError } from './backup-error.js';
import type { BackupManifest } from './format.js';
import { createBackup } from './service.js';

/**
 * Writes a backup file: snapshot, seal, write beside the target and rename (a reader never sees half a
 * file; mode 0600), then records the backup as an audit event through `record`.
 */
export async function writeBackup(options: {
  database: DatabaseConnection;
  rootConfig: RootConfig;
  nodeId: string;
  out: string;
  withAudit: boolean;
  passphrase: Buffer;
  clock: Clock;
  record: (event: Omit<AdminEvent, 'actor'>) => Promise<void>;
}): Promise<{ manifest: BackupManifest; bytes: number }> {
  const { bytes, manifest } = await createBackup({
    database: options.database,
    nodeId: options.nodeId,
    root: options.rootConfig,
    withAudit: options.withAudit,
    passphrase: options.passphrase,
    clock: options.clock,
  });
  const temporary = `${options.out}.partial`;
  try {
    writeFileSync(temporary, bytes, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, options.out);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new BackupError(`cannot write ${options.out}: ${error instanceof Error ? error.message : String(error)}`);
  }
  await options.record({
    action: 'backup.create',
    outcome: 'success',
    target: { file: options.out, keys: manifest.counts.keys ?? 0, withAudit: options.withAudit },
    detail: `backup of ${manifest.createdAt}, ${bytes.length} bytes`,
  });
  return { manifest, bytes: bytes.length };
}

/** `keyhold backup create`: opens the data directory's database (or PostgreSQL) itself, beside a serving node. */
export async function createBackupFile(options: {
  paths: DataDirPaths;
  databaseUrl?: string;
  out: string;
  withAudit: boolean;
  passphrase: Buffer;
  clock?: Clock;
}): Promise<{ manifest: BackupManifest; bytes: number }> {
  const { paths } = options;
  const clock = options.clock ?? systemClock;
  if (!existsSync(paths.nodeId)) throw new BackupError(`${paths.root} is not a Keyhold data directory (no node-id)`);
  if (!options.databaseUrl && !existsSync(paths.database))
    throw new BackupError(`no Keyhold database in ${paths.root}; pass --data-dir or --database-url`);
  const nodeId = readFileSync(paths.nodeId, 'utf8').trim();
  const rootConfig = readRootConfig(paths.rootConfig);
  const database = await openDatabase({ databaseUrl: options.databaseUrl, sqlitePath: paths.database });
  try {
    return await writeBackup({
      database,
      rootConfig,
      nodeId,
      out: options.out,
      withAudit: options.withAudit,
      passphrase: options.passphrase,
      clock,
      record: async (event) => {
        const root = await openRootOfTrust(paths, rootConfig);
        try {
          await recordCliEvent({ database, root, nodeId, clock, event });
        } finally {
          await root.close();
        }
      },
    });
  } finally {
    await database.close();
  }
}
