// Upgrading a v0.1 database: 0002_key_lifecycle keeps every existing key and version, giving them the
// lifecycle defaults (no tags, empty description, minimum decryption version 1, versions ENABLED and
// GENERATED). SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Dialect } from 'kysely';
import pg from 'pg';
import { initialMigration } from '../../src/storage/migrations/0001_initial.js';
import { createKeyStore } from '../../src/keys/sql-key-store.js';
import { openDatabase } from '../../src/storage/open-database.js';
import type { SqlDialect } from '../../src/storage/connection.js';
import { createScratchDatabase } from '../helpers/postgres.js';

const T0 = 1_700_000_000_000;

async function seedV01(dialect: Dialect, name: SqlDialect): Promise<void> {
  const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect });
  try {
    const { error } = await new Migrator({
      db,
      provider: { getMigrations: () => Promise.resolve({ '0001_initial': initialMigration(name) }) },
    }).migrateToLatest();
    assert.equal(error, undefined);
    await db.insertInto('groups').values({ id: 'g1', name: 'demo', created_at: T0 }).execute();
    await db
      .insertInto('keys')
      .values({
        id: 'k1',
        group_id: 'g1',
        external_id: 'old-key',
        usage: 'ENCRYPT,DECRYPT',
        status: 'DISABLED',
        internal: 0,
        current_version: 2,
        created_at: T0,
        updated_at: T0 + 1,
      })
      .execute();
    for (const version of [1, 2]) {
      await db
        .insertInto('key_versions')
        .values({ key_id: 'k1', version, sealed_material: Buffer.alloc(61, version), created_at: T0 + version })
        .execute();
    }
  } finally {
    await db.destroy();
  }
}

async function checkUpgraded(open: () => ReturnType<typeof openDatabase>): Promise<void> {
  const connection = await open();
  const store = createKeyStore(connection);
  try {
    assert.deepEqual(await store.getKeyById('k1'), {
      id: 'k1',
      groupId: 'g1',
      externalId: 'old-key',
      usage: ['ENCRYPT', 'DECRYPT'],
      status: 'DISABLED',
      internal: false,
      currentVersion: 2,
      description: '',
      tags: {},
      minDecryptVersion: 1,
      createdAt: T0,
      updatedAt: T0 + 1,
    });
    assert.deepEqual(
      (await store.listKeyVersions('k1')).map((v) => [
        v.version,
        v.state,
        v.origin,
        v.sealedMaterial.equals(Buffer.alloc(61, v.version)),
        v.revokedAt,
        v.destroyedAt,
      ]),
      [
        [1, 'ENABLED', 'GENERATED', true, undefined, undefined],
        [2, 'ENABLED', 'GENERATED', true, undefined, undefined],
      ],
    );
    assert.deepEqual(await store.listKeysDue(Date.now()), []);
  } finally {
    await connection.close();
  }
}

describe('0002_key_lifecycle upgrades a v0.1 database', () => {
  it('on SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-upgrade-'));
    try {
      const path = join(dir, 'keyhold.db');
      const sqlite = new SqliteDatabase(path);
      sqlite.pragma('foreign_keys = ON');
      await seedV01(new SqliteDialect({ database: sqlite }), 'sqlite');
      await checkUpgraded(() => openDatabase({ sqlitePath: path }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on PostgreSQL', async () => {
    const database = await createScratchDatabase();
    try {
      await seedV01(new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }), 'postgres');
      await checkUpgraded(() => openDatabase({ databaseUrl: database.url }));
    } finally {
      await database.drop();
    }
  });
});
