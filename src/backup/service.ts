import { sql } from 'kysely';
import type { Clock } from '../core/clock.js';
import { KEYHOLD_VERSION } from '../core/version.js';
import type { RootConfig } from '../roots/root-config.js';
import type { DatabaseConnection } from '../storage/connection.js';
import { BackupError } from './backup-error.js';
import { ContentEncoder, decodeContent, type TableRows } from './content.js';
import { checkPassphraseStrength, openBackup, readBackupFile, sealBackup, type BackupManifest, type ManifestFields } from './format.js';
import { unpaced, type Pacer } from './pacer.js';
import { readSnapshot } from './snapshot.js';

/** The root of trust a backup's material is wrapped under, as the manifest names it; restore needs the same kind. */
export function rootKindOf(config: RootConfig): string {
  return config.kind === 'pkcs11' ? `pkcs11/${config.mode}` : config.kind;
}

/** The last migration applied: the schema the tables follow. */
export async function schemaVersion(connection: DatabaseConnection): Promise<string> {
  const db = connection.tables<unknown>();
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(db);
  return rows[0]?.name ?? 'none';
}

/**
 * A consistent snapshot of the node's tables, encoded (gzipped JSON), with the manifest fields that describe
 * it; not yet encrypted. Holds no secret in the clear (key material is still wrapped under the root of trust,
 * credentials sealed), so it may wait in memory while a passphrase arrives (the admin API's gated backup,
 * node-backups.ts), and cross a thread (snapshot-thread.ts).
 */
export interface BackupSnapshot {
  fields: ManifestFields;
  content: Buffer;
}

/**
 * Reads every table in one read transaction (readSnapshot), encoding it a page at a time as it goes, and
 * describes it. `pacer` (none: as fast as it goes) spreads the work out beside a serving node. On SQLite the
 * snapshot is read from a private in-memory copy (the live database's read transaction lasts only for the
 * copy, about 0.1 s at 100,000 keys), because a read transaction held open on the live database keeps the
 * node's write-ahead log from being reset, and under 1,800 requests/s the log grows by tens of MB a second
 * (measured: docs/backup.md#pacing). A database too large to copy is read directly, unpaced.
 */
export async function snapshotForBackup(options: {
  database: DatabaseConnection;
  nodeId: string;
  root: RootConfig;
  withAudit: boolean;
  clock: Clock;
  pacer?: Pacer;
}): Promise<BackupSnapshot> {
  const createdAt = new Date(options.clock.now()).toISOString();
  const encoder = new ContentEncoder();
  const { database } = options;
  const copy = await database.inMemoryCopy(IN_MEMORY_COPY_MAX_BYTES);
  let schema: string;
  try {
    const source = copy ?? database;
    const mayPace = copy !== undefined || database.dialect === 'postgres';
    const pacer = (mayPace ? options.pacer : undefined) ?? unpaced(options.clock);
    await readSnapshot(source, { withAudit: options.withAudit, sink: encoder, pacer });
    // The schema the rows were read in (the copy's, where there is one).
    schema = await schemaVersion(source);
  } finally {
    await copy?.close();
  }
  return {
    content: encoder.finish(),
    fields: {
      keyholdVersion: KEYHOLD_VERSION,
      node: options.nodeId,
      createdAt,
      dialect: database.dialect,
      schema,
      root: rootKindOf(options.root),
      withAudit: options.withAudit,
      counts: encoder.counts,
    },
  };
}

/**
 * A SQLite database up to this size is copied into memory and read from the copy; a larger one is read
 * directly, in one transaction as short as the read itself. The copy costs its size in memory, twice while it
 * is made.
 */
export const IN_MEMORY_COPY_MAX_BYTES = 512 * 1024 * 1024;

/** Encrypts a snapshot under the passphrase: a backup file's bytes. */
export async function sealSnapshot(snapshot: BackupSnapshot, passphrase: Buffer): Promise<{ bytes: Buffer; manifest: BackupManifest }> {
  const bytes = await sealBackup(snapshot.fields, snapshot.content, passphrase);
  return { bytes, manifest: readBackupFile(bytes).manifest };
}

/** Takes a consistent snapshot of the database and seals it into a backup file's bytes. */
export async function createBackup(options: {
  database: DatabaseConnection;
  nodeId: string;
  root: RootConfig;
  withAudit: boolean;
  passphrase: Buffer;
  clock: Clock;
  pacer?: Pacer;
}): Promise<{ bytes: Buffer; manifest: BackupManifest }> {
  checkPassphraseStrength(options.passphrase);
  return sealSnapshot(await snapshotForBackup(options), options.passphrase);
}

/** The manifest after the integrity check (length and SHA-256 of the content): no passphrase needed. */
export function readManifest(bytes: Buffer): BackupManifest {
  return readBackupFile(bytes).manifest;
}

/** Decrypts and decodes a backup, and checks its tables against the manifest's counts. */
export async function readBackup(bytes: Buffer, passphrase: Buffer): Promise<{ manifest: BackupManifest; tables: TableRows[] }> {
  const opened = readBackupFile(bytes);
  const tables = await decodeContent(await openBackup(opened, passphrase));
  const { counts } = opened.manifest;
  const names = new Set(tables.map((t) => t.name));
  for (const [name, count] of Object.entries(counts)) {
    const table = tables.find((t) => t.name === name);
    if (!table || table.rows.length !== count) throw new BackupError(`the backup content does not match its manifest (table ${name})`);
  }
  for (const name of names) if (!(name in counts)) throw new BackupError(`the backup content does not match its manifest (table ${name})`);
  return { manifest: opened.manifest, tables };
}
