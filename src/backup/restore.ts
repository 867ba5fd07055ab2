import { sql, type Kysely } from 'kysely';
import { sealContext, type RootOfTrust, type SecretSealer } from '../roots/root-of-trust.js';
import type { DatabaseConnection } from '../storage/connection.js';
import { BackupError } from './backup-error.js';
import type { TableRows } from './content.js';
import { backupTables } from './tables.js';

/** PostgreSQL takes at most 65,535 parameters a statement, SQLite 32,766: batches stay under both. */
const MAX_PARAMETERS = 30_000;

const auditSigningContext = (chain: string) => `audit-signing-key:${chain}`;

/**
 * Checks that this root of trust opens everything the backup holds wrapped under it, before anything is
 * written: every key version that still has material (PKCS#11 keys mode: its handle resolves in the
 * token), every keystore credential's sealed secret, every audit chain's sealed signing key.
 */
export async function checkRootOpens(tables: TableRows[], root: RootOfTrust, sealer: SecretSealer): Promise<{ keyVersions: number }> {
  const rows = (name: string) => tables.find((t) => t.name === name)?.rows ?? [];
  let keyVersions = 0;
  for (const version of rows('key_versions')) {
    if (version.destroyed_at !== null && version.destroyed_at !== undefined) continue;
    const keyId = String(version.key_id);
    const number = Number(version.version);
    try {
      await root.openKey(asBuffer(version.sealed_material), sealContext.keyMaterial(keyId, number));
    } catch (error) {
      throw new BackupError(
        `this root of trust cannot open version ${number} of key ${keyId} (${rootReason(error)}); restore needs the same root of trust`,
      );
    }
    keyVersions++;
  }
  for (const credential of rows('credentials')) {
    const id = String(credential.access_key_id);
    try {
      (await sealer.unsealSecret(asBuffer(credential.sealed_secret), sealContext.credentialSecret(id))).fill(0);
    } catch (error) {
      throw new BackupError(
        `this root of trust cannot open the secret of credential ${id} (${rootReason(error)}); restore needs the same root of trust`,
      );
    }
  }
  for (const chain of rows('audit_chains')) {
    const id = String(chain.chain_id);
    try {
      (await root.unsealSecret(asBuffer(chain.sealed_private_key), auditSigningContext(id))).fill(0);
    } catch (error) {
      throw new BackupError(`this root of trust cannot open the signing key of audit chain ${id} (${rootReason(error)})`);
    }
  }
  return { keyVersions };
}

function rootReason(error: unknown): string {
  if (error instanceof Error && error.name === 'RootSealedError') return 'the root is sealed';
  // Errors of the software root (a GCM tag mismatch) or the token (object not found) hold no secret.
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  throw new BackupError('the backup content is damaged (a sealed value is not binary)');
}

/** A table name to the rows of any shape: restore writes whatever columns the live schema has. */
type AnyTables = Record<string, Record<string, unknown>>;

/**
 * Writes every table in one transaction: all or nothing. Refuses a target that holds any row unless
 * `replace` (then every row of the restored tables is deleted first, in the same transaction), and a
 * backup with a table or column this schema does not know (a newer Keyhold's).
 */
export async function writeTables(connection: DatabaseConnection, tables: TableRows[], options: { replace: boolean }): Promise<void> {
  const shapes = await backupTables(connection);
  const known = new Map(shapes.map((s) => [s.name, new Set(s.columns)]));
  for (const table of tables) {
    const columns = known.get(table.name);
    if (!columns)
      throw new BackupError(`the backup has a table this Keyhold does not know (${table.name}): restore it with the Keyhold that made it`);
    const unknown = table.columns.find((c) => !columns.has(c));
    if (unknown)
      throw new BackupError(
        `the backup has a column this Keyhold does not know (${table.name}.${unknown}): restore it with the Keyhold that made it`,
      );
  }
  const db = connection.tables<AnyTables>();
  await db.transaction().execute(async (trx) => {
    const occupied = await firstOccupied(
      trx,
      shapes.map((s) => s.name),
    );
    if (occupied && !options.replace) {
      throw new BackupError(`the target database is not empty (table ${occupied} has rows); pass --force to replace everything in it`);
    }
    if (occupied) for (const shape of [...shapes].reverse()) await trx.deleteFrom(shape.name).execute();
    const byName = new Map(tables.map((t) => [t.name, t]));
    for (const shape of shapes) {
      const table = byName.get(shape.name);
      if (!table || table.rows.length === 0) continue;
      const batch = Math.max(1, Math.floor(MAX_PARAMETERS / table.columns.length));
      for (let i = 0; i < table.rows.length; i += batch) {
        await trx
          .insertInto(shape.name)
          .values(table.rows.slice(i, i + batch))
          .execute();
      }
    }
  });
}

async function firstOccupied(trx: Kysely<AnyTables>, names: string[]): Promise<string | undefined> {
  for (const name of names) {
    const { rows } = await sql<{ one: number }>`select 1 as one from ${sql.table(name)} limit 1`.execute(trx);
    if (rows.length > 0) return name;
  }
  return undefined;
}
