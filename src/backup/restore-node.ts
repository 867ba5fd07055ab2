import { existsSync, rmSync, writeFileSync } from 'node:fs';
import type { Clock } from '../core/clock.js';
import type { DataDirPaths } from '../core/data-dir.js';
import { openRootOfTrust } from '../roots/open-root.js';
import { readRootConfig } from '../roots/root-config.js';
import { isSealableRoot, type SealableRoot } from '../roots/shamir/sealable-root.js';
import { openSecretSealer } from '../roots/secret-sealer.js';
import type { DatabaseConnection } from '../storage/connection.js';
import { openDatabase } from '../storage/open-database.js';
import { BackupError } from './backup-error.js';
import { recordCliEvent } from './backup-audit.js';
import type { BackupManifest } from './format.js';
import { checkRootOpens, writeTables } from './restore.js';
import { readBackup, rootKindOf } from './service.js';

export interface RestoreOptions {
  bytes: Buffer;
  passphrase: Buffer;
  /** The target data directory: its root of trust (master.key, root.json) must already be in place. */
  paths: DataDirPaths;
  /** A PostgreSQL target; else the data directory's SQLite file. */
  databaseUrl?: string;
  /** Shamir data directories: enough of the custodians' shares to unseal the root for the check. */
  shares?: string[];
  /** Replace a non-empty target. */
  force: boolean;
  clock: Clock;
}

export interface RestoreResult {
  manifest: BackupManifest;
  keyVersionsChecked: number;
  rows: number;
}

/**
 * Restores a backup into a data directory (SQLite) or a PostgreSQL database. Everything that can be checked
 * is checked before the target is touched: the file's integrity and format, the passphrase, the manifest
 * against the content, the root of trust's kind, and that the root opens every key version, credential and
 * audit signing key. The rows are then written in one transaction; a failure leaves the target as it was
 * (a SQLite file this call created is removed again).
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { manifest, tables } = await readBackup(options.bytes, options.passphrase);
  const { paths } = options;
  let config;
  try {
    config = readRootConfig(paths.rootConfig);
  } catch (error) {
    throw new BackupError(error instanceof Error ? error.message : String(error));
  }
  const kind = rootKindOf(config);
  if (kind !== manifest.root) {
    throw new BackupError(`the backup's keys are wrapped under a ${manifest.root} root of trust, but ${paths.root} is set up for ${kind}`);
  }
  if (config.kind === 'master-key-file' && !existsSync(paths.masterKey)) {
    throw new BackupError(`no master key in ${paths.root}: place the backed-up node's master.key there first`);
  }
  if (config.kind === 'shamir' && !options.shares?.length) {
    throw new BackupError(
      "the data directory's master key is split into Shamir shares: give the custodians' shares with --shares-file FILE (one a line)",
    );
  }
  let root;
  try {
    root = await openRootOfTrust(paths, config);
  } catch (error) {
    throw new BackupError(`cannot open the root of trust in ${paths.root}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    if (isSealableRoot(root)) await unsealWith(root, options.shares ?? []);
    const { keyVersions } = await checkRootOpens(tables, root, openSecretSealer(paths, config, root));
    const createdFile = !options.databaseUrl && !existsSync(paths.database);
    let database: DatabaseConnection | undefined;
    try {
      database = await openDatabase({ databaseUrl: options.databaseUrl, sqlitePath: paths.database });
      await writeTables(database, tables, { replace: options.force });
    } catch (error) {
      await database?.close();
      database = undefined;
      if (createdFile) for (const suffix of ['', '-wal', '-shm']) rmSync(paths.database + suffix, { force: true });
      throw error;
    }
    try {
      if (!existsSync(paths.nodeId)) writeFileSync(paths.nodeId, `${manifest.node}\n`, { mode: 0o600 });
      await recordCliEvent({
        database,
        root,
        nodeId: manifest.node,
        clock: options.clock,
        event: {
          action: 'backup.restore',
          outcome: 'success',
          target: { node: manifest.node, createdAt: manifest.createdAt, keys: manifest.counts.keys ?? 0 },
          detail: `restored a backup of ${manifest.createdAt} (${manifest.dialect} → ${database.dialect})`,
        },
      });
    } finally {
      await database.close();
    }
    return { manifest, keyVersionsChecked: keyVersions, rows: tables.reduce((n, t) => n + t.rows.length, 0) };
  } finally {
    await root.close();
  }
}

async function unsealWith(root: SealableRoot, shares: string[]): Promise<void> {
  try {
    for (const share of shares) if ((await root.enterShare(share)).sealed === false) return;
  } catch (error) {
    throw new BackupError(`the shares do not unseal this data directory's root: ${error instanceof Error ? error.message : String(error)}`);
  }
  throw new BackupError(`not enough shares to unseal this data directory's root (${root.progress().threshold} needed)`);
}
