import { existsSync, readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NODE_WIDE } from '../approvals/operations.js';
import { createApprovalStore } from '../approvals/sql-approval-store.js';
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
import { createPacer, DEFAULT_BACKUP_CPU_SHARE, type Pacer } from './pacer.js';
import { createBackup } from './service.js';

/**
 * Writes a backup file: snapshot, seal, write beside the target and rename (a reader never sees half a
 * file; mode 0600), then records the backup as an audit event through `record`. `pacer` spreads the reading,
 * encoding and writing out so the node serving beside it keeps its latency (docs/backup.md#pacing).
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
  /** Taken by `serve --backup-dir` (recorded in the audit event). */
  scheduled?: boolean;
  pacer?: Pacer;
}): Promise<{ manifest: BackupManifest; bytes: number }> {
  const { bytes, manifest } = await createBackup({
    database: options.database,
    nodeId: options.nodeId,
    root: options.rootConfig,
    withAudit: options.withAudit,
    passphrase: options.passphrase,
    clock: options.clock,
    pacer: options.pacer,
  });
  await writeBackupBytes(options.out, bytes, options.pacer);
  await options.record({
    action: 'backup.create',
    outcome: 'success',
    target: {
      file: options.out,
      keys: manifest.counts.keys ?? 0,
      withAudit: options.withAudit,
      ...(options.scheduled ? { scheduled: true } : {}),
    },
    detail: `backup of ${manifest.createdAt}, ${bytes.length} bytes`,
  });
  return { manifest, bytes: bytes.length };
}

/** A backup file is written and flushed this much at a time. */
const WRITE_SLICE_BYTES = 1024 * 1024;

/**
 * Writes a backup file's bytes beside the target and renames (a reader never sees half a file; mode 0600). Each
 * slice is flushed to disk before the next (with the pacer's pause between them), so the node's own fsyncs
 * beside it never queue behind a whole file's dirty pages; the file and the rename are on disk when this
 * resolves, so a backup reported written survives a power cut.
 */
export async function writeBackupBytes(out: string, bytes: Buffer, pacer?: Pacer): Promise<void> {
  const temporary = `${out}.partial`;
  try {
    const file = await open(temporary, 'wx', 0o600);
    try {
      for (let offset = 0; offset < bytes.length; offset += WRITE_SLICE_BYTES) {
        await file.write(bytes, offset, Math.min(WRITE_SLICE_BYTES, bytes.length - offset));
        await file.datasync();
        await pacer?.pause();
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, out);
    await syncDirectory(dirname(out));
  } catch (error) {
    await rm(temporary, { force: true });
    throw new BackupError(`cannot write ${out}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Makes a rename in `dir` durable (the directory entry itself is flushed). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a direct read of the database while `backup.create` is under the node-wide approval policy: the
 * approvers would be skipped. The gated path is the admin API (`keyhold backup create --api`). Backups
 * `serve --backup-dir` schedules are exempt: the operator who starts the node set them up (docs/backup.md#api).
 */
async function refuseWhenGated(database: DatabaseConnection): Promise<void> {
  const policy = await createApprovalStore(database).getPolicy(NODE_WIDE);
  if (policy?.operations.includes('backup.create')) {
    throw new BackupError(
      'backups are under the node-wide approval policy (backup.create): run `keyhold backup create --api` against the serving node so its approvers decide',
    );
  }
}

/** `keyhold backup create`: opens the data directory's database (or PostgreSQL) itself, beside a serving node. */
export async function createBackupFile(options: {
  paths: DataDirPaths;
  databaseUrl?: string;
  out: string;
  withAudit: boolean;
  passphrase: Buffer;
  clock?: Clock;
  /** Run by `serve --backup-dir`'s schedule: allowed while backups are under an approval policy. */
  scheduled?: boolean;
  /** The share of one core the backup may use on average (pacer.ts; default DEFAULT_BACKUP_CPU_SHARE, 1: unpaced). */
  cpuShare?: number;
}): Promise<{ manifest: BackupManifest; bytes: number }> {
  const { paths } = options;
  const clock = options.clock ?? systemClock;
  const pacer = createPacer({ share: options.cpuShare ?? DEFAULT_BACKUP_CPU_SHARE, clock });
  if (!existsSync(paths.nodeId)) throw new BackupError(`${paths.root} is not a Keyhold data directory (no node-id)`);
  if (!options.databaseUrl && !existsSync(paths.database))
    throw new BackupError(`no Keyhold database in ${paths.root}; pass --data-dir or --database-url`);
  const nodeId = readFileSync(paths.nodeId, 'utf8').trim();
  const rootConfig = readRootConfig(paths.rootConfig);
  const database = await openDatabase({ databaseUrl: options.databaseUrl, sqlitePath: paths.database });
  try {
    if (!options.scheduled) await refuseWhenGated(database);
    return await writeBackup({
      scheduled: options.scheduled,
      database,
      rootConfig,
      nodeId,
      out: options.out,
      withAudit: options.withAudit,
      passphrase: options.passphrase,
      clock,
      pacer,
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
