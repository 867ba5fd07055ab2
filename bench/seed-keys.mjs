/**
 * Seeds a freshly initialized data directory with many real keys, fast: every key gets its own
 * material from the node's root of trust (`root.createKeyMaterial`, sealed to the key's id and
 * version exactly as the key service seals it), and the rows are written in ONE transaction with
 * the key store's own row mapping (src/keys/key-rows.ts keyRow / keyVersionRow) into its tables, through
 * one prepared INSERT per table whose columns are those of the mapped rows.
 *
 * The key service's `create` does the same per key, one transaction (and a live-state publish) each:
 * 0.7 ms a key here, 70 s for 100,000. Only that bookkeeping is skipped; the node that starts on the
 * directory loads and unseals every key (keys.loadAll), so a key seeded wrongly fails its start.
 *
 * Key ids: the demo key (`demo-key`) is key 0; the others are `bench-key-NNNNNN`.
 */
import { randomUUID } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import { sealContext } from '../dist/roots/root-of-trust.js';
import { openServices } from '../dist/server/services.js';
import { keyRow, keyVersionRow } from '../dist/keys/key-rows.js';

export const benchKeyId = (i) => (i === 0 ? 'demo-key' : `bench-key-${String(i).padStart(6, '0')}`);

/**
 * Adds keys 1..count-1 to `keystoreName` (key 0 is the demo key, already there); `attributes(i)`, when
 * given, gives key i its description and tags (bench/key-search.mjs searches them).
 * @param {{ paths: import('../dist/core/data-dir.js').DataDirPaths, keystoreName: string, count: number, clock: { now(): number }, attributes?: (i: number) => { description?: string, tags?: Record<string, string> } }} options
 */
export async function seedKeys({ paths, keystoreName, count, clock, attributes }) {
  if (count <= 1) return;
  const services = await openServices({ paths, clock });
  const keys = [];
  const versions = [];
  try {
    const keystore = await services.keystoreStore.getKeystoreByName(keystoreName);
    if (!keystore) throw new Error(`no keystore "${keystoreName}" to seed`);
    const now = clock.now();
    for (let i = 1; i < count; i++) {
      const id = randomUUID();
      const record = {
        id,
        groupId: keystore.groupId,
        externalId: benchKeyId(i),
        usage: ['ENCRYPT', 'DECRYPT'],
        status: 'ENABLED',
        internal: false,
        currentVersion: 1,
        description: '',
        tags: {},
        ...attributes?.(i),
        minDecryptVersion: 1,
        createdAt: now,
        updatedAt: now,
      };
      const sealedMaterial = await services.root.createKeyMaterial(sealContext.keyMaterial(id, 1));
      keys.push(keyRow(record));
      versions.push(keyVersionRow({ keyId: id, version: 1, sealedMaterial, state: 'ENABLED', origin: 'GENERATED', createdAt: now }));
    }
  } finally {
    await services.close();
  }
  const sqlite = new SqliteDatabase(paths.database);
  try {
    sqlite.pragma('foreign_keys = ON'); // as the store opens it: a key of a missing group is refused
    const insert = (table, row) => {
      const columns = Object.keys(row);
      return sqlite.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
    };
    const insertKey = insert('keys', keys[0]);
    const insertVersion = insert('key_versions', versions[0]);
    sqlite.transaction(() => {
      for (let i = 0; i < keys.length; i++) {
        insertKey.run(keys[i]);
        insertVersion.run(versions[i]);
      }
    })();
  } finally {
    sqlite.close();
  }
}
