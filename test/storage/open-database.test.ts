// The connection every feature store is built on, against both dialects: SQLite in a temp dir, and a
// real PostgreSQL (KEYHOLD_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres). If
// PostgreSQL is unreachable the PostgreSQL suite fails rather than skips: CI provides it.
// Each feature's own queries are tested beside it (test/keys, test/keystores, test/access, …).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import { openDatabase } from '../../src/storage/open-database.js';
import { dialectTargets, suiteDatabase } from '../helpers/dialects.js';
import { newGroup } from '../helpers/records.js';

for (const target of dialectTargets()) {
  describe(`DatabaseConnection on ${target.name}`, () => {
    const database = suiteDatabase(target);

    it('reports its dialect', () => {
      assert.equal(database().dialect, target.name);
    });

    it('runs migrations idempotently: a second open sees the same data', async () => {
      const group = newGroup();
      await createKeystoreStore(database()).createGroup(group);
      const second = await target.connect();
      try {
        assert.deepEqual(await createKeystoreStore(second).getGroup(group.id), group);
      } finally {
        await second.close();
      }
    });

    it('answers a ping', async () => {
      await database().ping();
    });

    it(
      target.name === 'sqlite'
        ? 'makes a private in-memory copy as of now (a backup reads it instead of holding the WAL), none above a size'
        : 'has no in-memory copy (PostgreSQL snapshots are one REPEATABLE READ transaction)',
      async () => {
        const store = createKeystoreStore(database());
        const before = newGroup();
        await store.createGroup(before);
        const copy = await database().inMemoryCopy(1024 ** 3);
        if (target.name === 'postgres') {
          assert.equal(copy, undefined);
          return;
        }
        assert.ok(copy, 'a copy of a small SQLite database');
        try {
          const later = newGroup();
          await store.createGroup(later);
          const copied = createKeystoreStore(copy);
          assert.deepEqual(await copied.getGroup(before.id), before, 'the copy holds what was committed before it');
          assert.equal(await copied.getGroup(later.id), undefined, 'and nothing written after it');
          assert.deepEqual(await store.getGroup(later.id), later, 'the live database is unaffected');
        } finally {
          await copy.close();
        }
        assert.equal(await database().inMemoryCopy(4096), undefined, 'no copy of a database larger than the limit');
      },
    );
  });
}

describe('openDatabase', () => {
  it('creates the SQLite file and its directory, in WAL mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-open-'));
    try {
      const path = join(dir, 'nested', 'keyhold.db');
      const database = await openDatabase({ sqlitePath: path });
      await database.close();
      assert.ok(existsSync(path));
      const sqlite = new SqliteDatabase(path, { readonly: true });
      try {
        assert.equal(sqlite.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        sqlite.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database URL it does not support instead of falling back to SQLite', async () => {
    await assert.rejects(
      openDatabase({ databaseUrl: 'mysql://root:secret@db/keyhold', sqlitePath: '/tmp/unused.db' }),
      (err: Error) => err.message.includes('unsupported database URL') && !err.message.includes('secret'),
    );
  });

  it('requires some database', async () => {
    await assert.rejects(openDatabase({}), /no database configured/);
  });
});
