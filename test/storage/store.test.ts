// One suite, run against both dialects: SQLite in a temp dir, and a real PostgreSQL
// (KEYHOLD_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres). If PostgreSQL
// is unreachable the PostgreSQL suite fails rather than skips: CI provides it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import type { KeyRecord, StoredKeyVersion } from '../../src/domain/types.js';
import type { KeystoreStore } from '../../src/keystores/keystore-store.js';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import { openDatabase } from '../../src/storage/open-store.js';
import type { Store } from '../../src/storage/store.js';
import { StoreConflictError, StoreNotFoundError } from '../../src/storage/store-errors.js';
import { dialectTargets, type DialectTarget } from '../helpers/dialects.js';
import { bytes, newGroup, seedKeystore, T0, unique } from '../helpers/records.js';

const newKey = (groupId: string, externalId = `key-${unique()}`): KeyRecord => ({
  id: `k-${unique()}`,
  groupId,
  externalId,
  usage: ['ENCRYPT', 'DECRYPT'],
  status: 'ENABLED',
  internal: false,
  currentVersion: 1,
  description: '',
  tags: {},
  minDecryptVersion: 1,
  createdAt: T0 + 3,
  updatedAt: T0 + 3,
});
const versionOf = (key: KeyRecord, version = 1): StoredKeyVersion => ({
  keyId: key.id,
  version,
  sealedMaterial: bytes(60),
  state: 'ENABLED',
  origin: 'GENERATED',
  createdAt: T0 + 4 + version,
});

function storeSuite(name: string, target: DialectTarget) {
  describe(`Store (keys, admin tokens) on ${name}`, () => {
    let store: Store;
    /** Keys live in groups, which the keystore store keeps. */
    let groups: KeystoreStore;

    before(async () => {
      await target.setUp();
      store = await target.open();
      groups = createKeystoreStore(store.connection);
    });

    after(async () => {
      await store.close();
      await target.tearDown();
    });

    it('reports its dialect', () => {
      assert.equal(store.dialect, name);
    });

    it('runs migrations idempotently: a second open sees the same data', async () => {
      const group = newGroup();
      await groups.createGroup(group);
      const second = await target.connect();
      try {
        assert.deepEqual(await createKeystoreStore(second).getGroup(group.id), group);
      } finally {
        await second.close();
      }
    });

    it('answers a ping', async () => {
      await store.connection.ping();
    });

    it('returns numbers as numbers and binary as Buffers', async () => {
      const { group } = await seedKeystore(groups);
      const key = newKey(group.id);
      await store.createKey(key, versionOf(key));
      const [version] = await store.listKeyVersions(key.id);
      const storedKey = await store.getKeyById(key.id);
      assert.equal(typeof storedKey?.currentVersion, 'number');
      assert.equal(typeof storedKey?.updatedAt, 'number');
      assert.equal(storedKey?.internal, false);
      assert.ok(version, 'version 1 is stored');
      assert.ok(Buffer.isBuffer(version.sealedMaterial));
      assert.equal(typeof version.version, 'number');
    });

    describe('keys', () => {
      it('creates a key with version 1, gets it both ways, and lists', async () => {
        const group = newGroup();
        await groups.createGroup(group);
        const key = newKey(group.id, 'b-key');
        const canary: KeyRecord = { ...newKey(group.id, 'a-canary'), internal: true, usage: ['ENCRYPT'] };
        const version = versionOf(key);
        await store.createKey(key, version);
        await store.createKey(canary, versionOf(canary));

        assert.deepEqual(await store.getKey(group.id, 'b-key'), key);
        assert.deepEqual(await store.getKeyById(canary.id), canary);
        assert.equal(await store.getKey(group.id, 'missing'), undefined);
        assert.equal(await store.getKeyById('k-missing'), undefined);
        assert.deepEqual(await store.listKeyVersions(key.id), [version]);

        assert.deepEqual(await store.listKeys(group.id), [key]);
        assert.deepEqual(await store.listKeys(group.id, { includeInternal: true }), [canary, key]);
        const all = await store.listKeys();
        assert.ok(all.some((k) => k.id === key.id));
        assert.ok(!all.some((k) => k.internal));
      });

      it('lists the stamps of keys changed since a time, page by page in (updatedAt, id) order, without internal keys', async () => {
        const { group } = await seedKeystore(groups);
        // Far above every other fixture's timestamps, so only these keys are in range.
        const since = T0 + 9_000_000_000 + Math.floor(Math.random() * 1_000_000) * 10;
        const keys = [0, 0, 1, 2, 2, 3].map((offset, i) => ({ ...newKey(group.id, `stamp-${i}-${unique()}`), updatedAt: since + offset }));
        const internal = { ...newKey(group.id), internal: true, updatedAt: since + 1 };
        const older = { ...newKey(group.id), updatedAt: since - 1 };
        for (const key of [...keys, internal, older]) await store.createKey(key, versionOf(key));

        const expected = keys
          .map((k) => ({ id: k.id, groupId: k.groupId, externalId: k.externalId, updatedAt: k.updatedAt }))
          .sort((a, b) => a.updatedAt - b.updatedAt || (a.id < b.id ? -1 : 1));
        const pages = [];
        let after;
        for (;;) {
          const page = await store.listKeyStamps(since, 4, after);
          pages.push(page);
          if (page.length < 4) break;
          after = page[page.length - 1];
        }
        assert.deepEqual(
          pages.map((p) => p.length),
          [4, 2],
        );
        assert.deepEqual(pages.flat(), expected);
      });

      it('allows the same external id in two groups but not twice in one', async () => {
        const a = newGroup();
        const b = newGroup();
        await groups.createGroup(a);
        await groups.createGroup(b);
        const inA = newKey(a.id, 'shared');
        const inB = newKey(b.id, 'shared');
        await store.createKey(inA, versionOf(inA));
        await store.createKey(inB, versionOf(inB));
        assert.equal((await store.getKey(b.id, 'shared'))?.id, inB.id);

        const again = newKey(a.id, 'shared');
        await assert.rejects(store.createKey(again, versionOf(again)), {
          name: 'StoreConflictError',
          message: `key id "shared" already exists in group "${a.id}"`,
        });
        assert.equal(await store.getKeyById(again.id), undefined);
        assert.deepEqual(await store.listKeyVersions(again.id), []);
      });

      it('refuses a key in a group that does not exist', async () => {
        const key = newKey('g-missing');
        await assert.rejects(store.createKey(key, versionOf(key)), StoreNotFoundError);
      });

      it('updates status, usage and current version', async () => {
        const group = newGroup();
        await groups.createGroup(group);
        const key = newKey(group.id);
        await store.createKey(key, versionOf(key));
        await store.addKeyVersion(versionOf(key, 2));

        await store.updateKey(key.id, { status: 'DISABLED', usage: ['DECRYPT'], currentVersion: 2 }, T0 + 100);
        assert.deepEqual(await store.getKeyById(key.id), {
          ...key,
          status: 'DISABLED',
          usage: ['DECRYPT'],
          currentVersion: 2,
          updatedAt: T0 + 100,
        });
        await store.updateKey(key.id, { status: 'ENABLED' }, T0 + 200);
        const updated = await store.getKeyById(key.id);
        assert.equal(updated?.status, 'ENABLED');
        assert.deepEqual(updated.usage, ['DECRYPT']);
      });

      it('reports a missing key or version on update and changes nothing', async () => {
        const group = newGroup();
        await groups.createGroup(group);
        const key = newKey(group.id);
        await store.createKey(key, versionOf(key));
        await assert.rejects(store.updateKey('k-missing', { status: 'DISABLED' }, T0 + 100), StoreNotFoundError);
        await assert.rejects(store.updateKey(key.id, { status: 'DISABLED', currentVersion: 7 }, T0 + 100), StoreNotFoundError);
        assert.deepEqual(await store.getKeyById(key.id), key);
      });

      it('adds versions in order and refuses duplicates and missing keys', async () => {
        const group = newGroup();
        await groups.createGroup(group);
        const key = newKey(group.id);
        const v1 = versionOf(key, 1);
        const v2 = versionOf(key, 2);
        await store.createKey(key, v1);
        await store.addKeyVersion(v2);
        assert.deepEqual(await store.listKeyVersions(key.id), [v1, v2]);
        await assert.rejects(store.addKeyVersion(versionOf(key, 2)), {
          name: 'StoreConflictError',
          message: `version 2 of key "${key.id}" already exists`,
        });
        await assert.rejects(store.addKeyVersion({ ...v2, keyId: 'k-missing' }), StoreNotFoundError);
      });

      it("lists every key's versions at once, each key's in version order (node start)", async () => {
        const group = newGroup();
        await groups.createGroup(group);
        const [a, b] = [newKey(group.id), newKey(group.id)];
        const [a1, a2, b1] = [versionOf(a, 1), versionOf(a, 2), versionOf(b, 1)];
        await store.createKey(a, a1);
        await store.createKey(b, b1);
        await store.addKeyVersion(a2);
        const all = await store.listKeyVersions();
        assert.deepEqual(
          all.filter((v) => v.keyId === a.id),
          [a1, a2],
        );
        assert.deepEqual(
          all.filter((v) => v.keyId === b.id),
          [b1],
        );
      });
    });

    describe('key lifecycle (0002_key_lifecycle)', () => {
      async function seedKey() {
        const group = newGroup();
        await groups.createGroup(group);
        const key = newKey(group.id);
        await store.createKey(key, versionOf(key));
        return key;
      }

      it('round-trips every lifecycle field and clears optional ones with null', async () => {
        const key = await seedKey();
        const changes = {
          status: 'BLOCKED' as const,
          blockReason: 'incident',
          deletionDate: T0 + 10 * 86_400_000,
          description: 'payments',
          tags: { team: 'core', 'cost:centre': '42' },
          rotationPeriodDays: 90,
          nextRotationAt: T0 + 90 * 86_400_000,
          minDecryptVersion: 1,
        };
        assert.equal(await store.updateKey(key.id, changes, T0 + 100), true);
        assert.deepEqual(await store.getKeyById(key.id), { ...key, ...changes, updatedAt: T0 + 100 });
        await store.updateKey(key.id, { blockReason: null, deletionDate: null, rotationPeriodDays: null, nextRotationAt: null }, T0 + 200);
        assert.deepEqual(await store.getKeyById(key.id), {
          ...key,
          status: 'BLOCKED',
          description: 'payments',
          tags: changes.tags,
          updatedAt: T0 + 200,
        });
      });

      it('updates compare-and-set: a key no longer in the expected status or version is left alone (false)', async () => {
        const key = await seedKey();
        assert.equal(await store.updateKey(key.id, { status: 'DISABLED' }, T0 + 100, { status: ['BLOCKED'] }), false);
        assert.equal(await store.updateKey(key.id, { status: 'DISABLED' }, T0 + 100, { currentVersion: 2 }), false);
        assert.deepEqual(await store.getKeyById(key.id), key);
        assert.equal(
          await store.updateKey(key.id, { status: 'DISABLED' }, T0 + 100, { status: ['ENABLED', 'BLOCKED'], currentVersion: 1 }),
          true,
        );
        await assert.rejects(store.updateKey('k-missing', {}, T0, { status: ['ENABLED'] }), StoreNotFoundError);
        await store.updateKey(key.id, { status: 'PENDING_DELETION', deletionDate: T0 + 1000 }, T0 + 100);
        assert.equal(
          await store.updateKey(key.id, { status: 'DESTROYED' }, T0 + 100, { status: ['PENDING_DELETION'], deletionDueBy: T0 + 999 }),
          false,
        );
        assert.equal(
          await store.updateKey(key.id, { status: 'DESTROYED' }, T0 + 100, { status: ['PENDING_DELETION'], deletionDueBy: T0 + 1000 }),
          true,
        );
      });

      it('adds a current version once when two writers race on the same current version', async () => {
        const key = await seedKey();
        const [a, b] = await Promise.all(
          [
            store.addCurrentVersion({ ...versionOf(key, 2), sealedMaterial: bytes(61) }, 1, { nextRotationAt: T0 + 5 }, T0 + 100),
            store.addCurrentVersion({ ...versionOf(key, 2), sealedMaterial: bytes(61) }, 1, { nextRotationAt: T0 + 6 }, T0 + 100),
          ].map((p) => p.catch((error: unknown) => error)),
        );
        // One adds version 2; the other finds the key moved on (false), or, on SQLite's serialized
        // writers, may lose at the insert (a conflict): either way nothing of it is kept.
        assert.equal([a, b].filter((r) => r === true).length, 1, String([a, b]));
        for (const r of [a, b]) if (r !== true) assert.ok(r === false || r instanceof StoreConflictError, String(r));
        assert.deepEqual(
          (await store.listKeyVersions(key.id)).map((v) => v.version),
          [1, 2],
        );
        assert.equal((await store.getKeyById(key.id))?.currentVersion, 2);
        assert.equal(await store.addCurrentVersion(versionOf(key, 3), 1, {}, T0 + 200), false);
        assert.deepEqual(
          (await store.listKeyVersions(key.id)).map((v) => v.version),
          [1, 2],
        );
      });

      it("changes a version's state and material, compare-and-set on its state", async () => {
        const key = await seedKey();
        assert.equal(await store.updateKeyVersion(key.id, 1, { state: 'REVOKED', revokedAt: T0 + 10 }, ['ENABLED']), true);
        assert.equal(await store.updateKeyVersion(key.id, 1, { state: 'REVOKED' }, ['ENABLED']), false);
        assert.equal(
          await store.updateKeyVersion(key.id, 1, { state: 'DESTROYED', sealedMaterial: Buffer.alloc(0), destroyedAt: T0 + 20 }),
          true,
        );
        const [version] = await store.listKeyVersions(key.id);
        assert.deepEqual(
          { ...version, sealedMaterial: version!.sealedMaterial.length },
          {
            ...versionOf(key),
            sealedMaterial: 0,
            state: 'DESTROYED',
            revokedAt: T0 + 10,
            destroyedAt: T0 + 20,
            createdAt: version!.createdAt,
          },
        );
        await assert.rejects(store.updateKeyVersion(key.id, 7, { state: 'REVOKED' }), StoreNotFoundError);
      });

      it('lists the keys due: rotation passed, deletion passed, or destroyed with material left', async () => {
        const [rotate, notYet, remove, unfinished, disabled] = await Promise.all([seedKey(), seedKey(), seedKey(), seedKey(), seedKey()]);
        await store.updateKey(rotate.id, { nextRotationAt: T0 + 50 }, T0);
        await store.updateKey(notYet.id, { nextRotationAt: T0 + 500 }, T0);
        await store.updateKey(remove.id, { status: 'PENDING_DELETION', deletionDate: T0 + 100 }, T0);
        await store.updateKey(unfinished.id, { status: 'DESTROYED' }, T0);
        await store.updateKey(disabled.id, { status: 'DISABLED', nextRotationAt: T0 }, T0);
        const due = (await store.listKeysDue(T0 + 100)).map((k) => k.id);
        const mine = [rotate.id, notYet.id, remove.id, unfinished.id, disabled.id];
        assert.deepEqual(due.filter((id) => mine.includes(id)).sort(), [rotate.id, remove.id, unfinished.id].sort());
        await store.updateKeyVersion(unfinished.id, 1, { state: 'DESTROYED', sealedMaterial: Buffer.alloc(0) });
        assert.ok(!(await store.listKeysDue(T0 + 100)).some((k) => k.id === unfinished.id));
      });
    });
  });
}

for (const target of dialectTargets()) storeSuite(target.name, target);

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
