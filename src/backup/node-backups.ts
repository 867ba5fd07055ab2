import type { ActorRef } from '../access/actor.js';
import type { AdminEventSink } from '../audit/admin-events.js';
import type { Clock } from '../core/clock.js';
import { invalid } from '../core/errors.js';
import type { RootConfig } from '../roots/root-config.js';
import { BackupError } from './backup-error.js';
import { checkPassphraseStrength, type BackupManifest } from './format.js';
import { DEFAULT_BACKUP_CPU_SHARE } from './pacer.js';
import { sealSnapshot, type BackupSnapshot } from './service.js';
import { snapshotInThread } from './snapshot-thread.js';

/**
 * Backups a serving node takes for the admin API (`POST /api/v1/backups`, docs/backup.md#api). Split in two
 * so the approval gate can sit between them: `snapshot` is what the gated operation `backup.create` runs
 * (its only parameter, `withAudit`, is no secret); `seal` encrypts the snapshot under the passphrase the
 * request carried, which never enters the gate, an approval request, the audit log or the database.
 */
export interface NodeBackups {
  /** A consistent snapshot of the node's database (one read transaction, in a worker thread). */
  snapshot(withAudit: boolean): Promise<BackupSnapshot>;
  /** Refuses (one line, ManagementError) a passphrase the file format would refuse, before anything is read. */
  checkPassphrase(passphrase: Buffer): void;
  /** Seals the snapshot into a backup file's bytes and records `backup.create` for `actor`. */
  seal(snapshot: BackupSnapshot, passphrase: Buffer, actor: ActorRef): Promise<{ bytes: Buffer; manifest: BackupManifest }>;
}

export function createNodeBackups(deps: {
  /** Where the node's database is; the snapshot opens its own connection in a worker thread. */
  database: { sqlitePath: string; databaseUrl?: string };
  nodeId: string;
  rootConfig: RootConfig;
  clock: Clock;
  events: AdminEventSink;
}): NodeBackups {
  const checkPassphrase = (passphrase: Buffer) => {
    try {
      checkPassphraseStrength(passphrase);
    } catch (error) {
      if (error instanceof BackupError) throw invalid(error.message);
      throw error;
    }
  };
  return {
    snapshot: (withAudit) =>
      snapshotInThread({
        ...deps.database,
        nodeId: deps.nodeId,
        rootConfig: deps.rootConfig,
        withAudit,
        at: deps.clock.now(),
        cpuShare: DEFAULT_BACKUP_CPU_SHARE,
      }),
    checkPassphrase,
    async seal(snapshot, passphrase, actor) {
      checkPassphrase(passphrase);
      const sealed = await sealSnapshot(snapshot, passphrase);
      await deps.events.record({
        actor,
        action: 'backup.create',
        outcome: 'success',
        target: { node: deps.nodeId, keys: sealed.manifest.counts.keys ?? 0, withAudit: sealed.manifest.withAudit, via: 'admin API' },
        detail: `backup of ${sealed.manifest.createdAt}, ${sealed.bytes.length} bytes`,
      });
      return sealed;
    },
  };
}
