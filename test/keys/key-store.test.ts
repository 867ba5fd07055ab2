/**
 * The key store (src/keys/sql-key-store.ts) against both dialects: SQLite in a temp dir, and a real
 * PostgreSQL (test/helpers/postgres.ts; unreachable PostgreSQL fails rather than skips). Groups, which
 * keys belong to, are created through the Store until the keystores feature has its own store.
 * Over 300 lines on purpose: one case list for every KeyStore method, run as is on both dialects.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Group, KeyRecord, StoredKeyVersion } from '../../src/domain/types.js';
import type { KeyStore } from '../../src/keys/key-store.js';
import { createKeyStore } from '../../src/keys/sql-key-store.js';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import { StoreConflictError, StoreNotFoundError } from '../../src/storage/store-errors.js';
import { dialectTargets, suiteDatabase } from '../helpers/dialects.js';

// Fixtures. Timestamps are above 2^32 so an unparsed PostgreSQL int8 (a string) would show.
const T0 = 1_700_000_000_000;
const unique = () => randomBytes(5).toString('hex');
const bytes = (n = 32) => randomBytes(n);

const newGroup = (): Group => ({ id: `g-${unique()}`, name: `group-${unique()}`, createdAt: T0 });
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

for (const target of dialectTargets()) {
  describe(`KeyStore on ${target.name}`, () => {
    let keyStore: KeyStore | undefined;
    const store = suiteDatabase(target, (opened) => {
      keyStore = createKeyStore(opened);
    });
    const db = {
      get store() {
        return store();
      },
      get keyStore() {
        return keyStore ?? assert.fail('the key store is not open');
      },
    };

    /** Keys live in groups, which the keystore store keeps. */
    async function seedGroup(): Promise<Group> {
      const group = newGroup();
      await createKeystoreStore(db.store).createGroup(group);
      return group;
    }

    it('returns numbers as numbers and binary as Buffers', async () => {
      const key = newKey((await seedGroup()).id);
      await db.keyStore.createKey(key, versionOf(key));
      const [version] = await db.keyStore.listKeyVersions(key.id);
      const storedKey = await db.keyStore.getKeyById(key.id);
      assert.ok(storedKey && version);
      assert.equal(typeof storedKey.currentVersion, 'number');
      assert.equal(typeof storedKey.updatedAt, 'number');
      assert.equal(storedKey.internal, false);
      assert.ok(Buffer.isBuffer(version.sealedMaterial));
      assert.equal(typeof version.version, 'number');
    });

    describe('keys', () => {
      it('creates a key with version 1, gets it both ways, and lists', async () => {
        const group = newGroup();
        await createKeystoreStore(db.store).createGroup(group);
        const key = newKey(group.id, 'b-key');
        const canary: KeyRecord = { ...newKey(group.id, 'a-canary'), internal: true, usage: ['ENCRYPT'] };
        const version = versionOf(key);
        await db.keyStore.createKey(key, version);
        await db.keyStore.createKey(canary, versionOf(canary));

        assert.deepEqual(await db.keyStore.getKey(group.id, 'b-key'), key);
        assert.deepEqual(await db.keyStore.getKeyById(canary.id), canary);
        assert.equal(await db.keyStore.getKey(group.id, 'missing'), undefined);
        assert.equal(await db.keyStore.getKeyById('k-missing'), undefined);
        assert.deepEqual(await db.keyStore.listKeyVersions(key.id), [version]);

        assert.deepEqual(await db.keyStore.listKeys(group.id), [key]);
        assert.deepEqual(await db.keyStore.listKeys(group.id, { includeInternal: true }), [canary, key]);
        const all = await db.keyStore.listKeys();
        assert.ok(all.some((k) => k.id === key.id));
        assert.ok(!all.some((k) => k.internal));
      });

      it('reads every key and every version in bulk (node start) as the one-at-a-time reads do', async () => {
        const group = await seedGroup();
        const plain = newKey(group.id);
        const full: KeyRecord = {
          ...newKey(group.id),
          status: 'PENDING_DELETION',
          blockReason: 'breach drill',
          deletionDate: T0 + 9_000_000,
          description: 'every optional field set',
          tags: { team: 'payments', 'cost-centre': '42' },
          rotationPeriodDays: 90,
          nextRotationAt: T0 + 7_776_000_000,
        };
        const canary: KeyRecord = { ...newKey(group.id), internal: true, usage: ['ENCRYPT'] };
        await db.keyStore.createKey(plain, versionOf(plain));
        await db.keyStore.createKey(full, { ...versionOf(full), state: 'REVOKED', revokedAt: T0 + 50 });
        await db.keyStore.addKeyVersion({ ...versionOf(full, 2), origin: 'IMPORTED' });
        await db.keyStore.createKey(canary, versionOf(canary));

        const live = await db.keyStore.listLiveKeys();
        assert.deepEqual(
          live.filter((k) => k.groupId === group.id).sort((a, b) => (a.id < b.id ? -1 : 1)),
          [plain, full].sort((a, b) => (a.id < b.id ? -1 : 1)),
        );
        assert.ok(!live.some((k) => k.internal), 'internal keys (the canary) are not live keys');
        const everyVersion = await db.keyStore.listKeyVersions();
        for (const key of [plain, full, canary]) {
          assert.deepEqual(
            everyVersion.filter((v) => v.keyId === key.id).sort((a, b) => a.version - b.version),
            await db.keyStore.listKeyVersions(key.id),
          );
        }
      });

      it('refuses, in one line naming the column, a key row changed outside Keyhold when reading in bulk', async () => {
        const key = newKey((await seedGroup()).id);
        await db.keyStore.createKey(key, versionOf(key));
        const tables = db.store.tables<{ keys: { id: string; status: string } }>();
        await tables.updateTable('keys').set({ status: 'HALF_DELETED' }).where('id', '=', key.id).execute();
        try {
          await assert.rejects(db.keyStore.listLiveKeys(), (error: Error) => {
            assert.equal(error.message, `key ${key.id}: the stored status is not one Keyhold writes; the row was changed outside Keyhold`);
            return true;
          });
        } finally {
          await tables.updateTable('keys').set({ status: 'ENABLED' }).where('id', '=', key.id).execute();
        }
      });

      it('allows the same external id in two groups but not twice in one', async () => {
        const a = newGroup();
        const b = newGroup();
        await createKeystoreStore(db.store).createGroup(a);
        await createKeystoreStore(db.store).createGroup(b);
        const inA = newKey(a.id, 'shared');
        const inB = newKey(b.id, 'shared');
        await db.keyStore.createKey(inA, versionOf(inA));
        await db.keyStore.createKey(inB, versionOf(inB));
        assert.equal((await db.keyStore.getKey(b.id, 'shared'))?.id, inB.id);

        const again = newKey(a.id, 'shared');
        await assert.rejects(db.keyStore.createKey(again, versionOf(again)), {
          name: 'StoreConflictError',
          message: `key id "shared" already exists in group "${a.id}"`,
        });
        assert.equal(await db.keyStore.getKeyById(again.id), undefined);
        assert.deepEqual(await db.keyStore.listKeyVersions(again.id), []);
      });

      it('refuses a key in a group that does not exist', async () => {
        const key = newKey('g-missing');
        await assert.rejects(db.keyStore.createKey(key, versionOf(key)), StoreNotFoundError);
      });

      it('updates status, usage and current version', async () => {
        const group = newGroup();
        await createKeystoreStore(db.store).createGroup(group);
        const key = newKey(group.id);
        await db.keyStore.createKey(key, versionOf(key));
        await db.keyStore.addKeyVersion(versionOf(key, 2));

        await db.keyStore.updateKey(key.id, { status: 'DISABLED', usage: ['DECRYPT'], currentVersion: 2 }, T0 + 100);
        assert.deepEqual(await db.keyStore.getKeyById(key.id), {
          ...key,
          status: 'DISABLED',
          usage: ['DECRYPT'],
          currentVersion: 2,
          updatedAt: T0 + 100,
        });
        await db.keyStore.updateKey(key.id, { status: 'ENABLED' }, T0 + 200);
        const updated = await db.keyStore.getKeyById(key.id);
        assert.equal(updated?.status, 'ENABLED');
        assert.deepEqual(updated.usage, ['DECRYPT']);
      });

      it('reports a missing key or version on update and changes nothing', async () => {
        const group = newGroup();
        await createKeystoreStore(db.store).createGroup(group);
        const key = newKey(group.id);
        await db.keyStore.createKey(key, versionOf(key));
        await assert.rejects(db.keyStore.updateKey('k-missing', { status: 'DISABLED' }, T0 + 100), StoreNotFoundError);
        await assert.rejects(db.keyStore.updateKey(key.id, { status: 'DISABLED', currentVersion: 7 }, T0 + 100), StoreNotFoundError);
        assert.deepEqual(await db.keyStore.getKeyById(key.id), key);
      });

      it('adds versions in order and refuses duplicates and missing keys', async () => {
        const group = newGroup();
        await createKeystoreStore(db.store).createGroup(group);
        const key = newKey(group.id);
        const v1 = versionOf(key, 1);
        const v2 = versionOf(key, 2);
        await db.keyStore.createKey(key, v1);
        await db.keyStore.addKeyVersion(v2);
        assert.deepEqual(await db.keyStore.listKeyVersions(key.id), [v1, v2]);
        await assert.rejects(db.keyStore.addKeyVersion(versionOf(key, 2)), {
          name: 'StoreConflictError',
          message: `version 2 of key "${key.id}" already exists`,
        });
        await assert.rejects(db.keyStore.addKeyVersion({ ...v2, keyId: 'k-missing' }), StoreNotFoundError);
      });

      it("lists every key's versions at once, each key's in version order (node start)", async () => {
        const group = newGroup();
        await createKeystoreStore(db.store).createGroup(group);
        const [a, b] = [newKey(group.id), newKey(group.id)];
        const [a1, a2, b1] = [versionOf(a, 1), versionOf(a, 2), versionOf(b, 1)];
        await db.keyStore.createKey(a, a1);
        await db.keyStore.createKey(b, b1);
        await db.keyStore.addKeyVersion(a2);
        const all = await db.keyStore.listKeyVersions();
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
        await createKeystoreStore(db.store).createGroup(group);
        const key = newKey(group.id);
        await db.keyStore.createKey(key, versionOf(key));
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
        assert.equal(await db.keyStore.updateKey(key.id, changes, T0 + 100), true);
        assert.deepEqual(await db.keyStore.getKeyById(key.id), { ...key, ...changes, updatedAt: T0 + 100 });
        await db.keyStore.updateKey(
          key.id,
          { blockReason: null, deletionDate: null, rotationPeriodDays: null, nextRotationAt: null },
          T0 + 200,
        );
        assert.deepEqual(await db.keyStore.getKeyById(key.id), {
          ...key,
          status: 'BLOCKED',
          description: 'payments',
          tags: changes.tags,
          updatedAt: T0 + 200,
        });
      });

      it('updates compare-and-set: a key no longer in the expected status or version is left alone (false)', async () => {
        const key = await seedKey();
        assert.equal(await db.keyStore.updateKey(key.id, { status: 'DISABLED' }, T0 + 100, { status: ['BLOCKED'] }), false);
        assert.equal(await db.keyStore.updateKey(key.id, { status: 'DISABLED' }, T0 + 100, { currentVersion: 2 }), false);
        assert.deepEqual(await db.keyStore.getKeyById(key.id), key);
        assert.equal(
          await db.keyStore.updateKey(key.id, { status: 'DISABLED' }, T0 + 100, {
            status: ['ENABLED', 'BLOCKED'],
            currentVersion: 1,
          }),
          true,
        );
        await assert.rejects(db.keyStore.updateKey('k-missing', {}, T0, { status: ['ENABLED'] }), StoreNotFoundError);
        await db.keyStore.updateKey(key.id, { status: 'PENDING_DELETION', deletionDate: T0 + 1000 }, T0 + 100);
        assert.equal(
          await db.keyStore.updateKey(key.id, { status: 'DESTROYED' }, T0 + 100, {
            status: ['PENDING_DELETION'],
            deletionDueBy: T0 + 999,
          }),
          false,
        );
        assert.equal(
          await db.keyStore.updateKey(key.id, { status: 'DESTROYED' }, T0 + 100, {
            status: ['PENDING_DELETION'],
            deletionDueBy: T0 + 1000,
          }),
          true,
        );
      });

      it('adds a current version once when two writers race on the same current version', async () => {
        const key = await seedKey();
        const [a, b] = await Promise.all(
          [
            db.keyStore.addCurrentVersion({ ...versionOf(key, 2), sealedMaterial: bytes(61) }, 1, { nextRotationAt: T0 + 5 }, T0 + 100),
            db.keyStore.addCurrentVersion({ ...versionOf(key, 2), sealedMaterial: bytes(61) }, 1, { nextRotationAt: T0 + 6 }, T0 + 100),
          ].map((p) => p.catch((error: unknown) => error)),
        );
        // One adds version 2; the other finds the key moved on (false), or, on SQLite's serialized
        // writers, may lose at the insert (a conflict): either way nothing of it is kept.
        assert.equal([a, b].filter((r) => r === true).length, 1, String([a, b]));
        for (const r of [a, b]) if (r !== true) assert.ok(r === false || r instanceof StoreConflictError, String(r));
        assert.deepEqual(
          (await db.keyStore.listKeyVersions(key.id)).map((v) => v.version),
          [1, 2],
        );
        assert.equal((await db.keyStore.getKeyById(key.id))?.currentVersion, 2);
        assert.equal(await db.keyStore.addCurrentVersion(versionOf(key, 3), 1, {}, T0 + 200), false);
        assert.deepEqual(
          (await db.keyStore.listKeyVersions(key.id)).map((v) => v.version),
          [1, 2],
        );
      });

      it("changes a version's state and material, compare-and-set on its state", async () => {
        const key = await seedKey();
        assert.equal(await db.keyStore.updateKeyVersion(key.id, 1, { state: 'REVOKED', revokedAt: T0 + 10 }, ['ENABLED']), true);
        assert.equal(await db.keyStore.updateKeyVersion(key.id, 1, { state: 'REVOKED' }, ['ENABLED']), false);
        assert.equal(
          await db.keyStore.updateKeyVersion(key.id, 1, {
            state: 'DESTROYED',
            sealedMaterial: Buffer.alloc(0),
            destroyedAt: T0 + 20,
          }),
          true,
        );
        const [version] = await db.keyStore.listKeyVersions(key.id);
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
        await assert.rejects(db.keyStore.updateKeyVersion(key.id, 7, { state: 'REVOKED' }), StoreNotFoundError);
      });

      it('lists the keys due: rotation passed, deletion passed, or destroyed with material left', async () => {
        const [rotate, notYet, remove, unfinished, disabled] = await Promise.all([seedKey(), seedKey(), seedKey(), seedKey(), seedKey()]);
        await db.keyStore.updateKey(rotate.id, { nextRotationAt: T0 + 50 }, T0);
        await db.keyStore.updateKey(notYet.id, { nextRotationAt: T0 + 500 }, T0);
        await db.keyStore.updateKey(remove.id, { status: 'PENDING_DELETION', deletionDate: T0 + 100 }, T0);
        await db.keyStore.updateKey(unfinished.id, { status: 'DESTROYED' }, T0);
        await db.keyStore.updateKey(disabled.id, { status: 'DISABLED', nextRotationAt: T0 }, T0);
        const due = (await db.keyStore.listKeysDue(T0 + 100)).map((k) => k.id);
        const mine = [rotate.id, notYet.id, remove.id, unfinished.id, disabled.id];
        assert.deepEqual(due.filter((id) => mine.includes(id)).sort(), [rotate.id, remove.id, unfinished.id].sort());
        await db.keyStore.updateKeyVersion(unfinished.id, 1, { state: 'DESTROYED', sealedMaterial: Buffer.alloc(0) });
        assert.ok(!(await db.keyStore.listKeysDue(T0 + 100)).some((k) => k.id === unfinished.id));
      });
    });

    describe('import wrapping keys', () => {
      it('keeps a wrapping key and marks it used once, never twice', async () => {
        const key = { id: `w-${unique()}`, publicKeyPem: 'PEM', sealedPrivateKey: bytes(64), createdAt: T0, expiresAt: T0 + 1000 };
        await db.keyStore.createWrappingKey(key);
        assert.deepEqual(await db.keyStore.getWrappingKey(key.id), key);
        assert.equal(await db.keyStore.getWrappingKey('w-missing'), undefined);
        assert.equal(await db.keyStore.markWrappingKeyUsed(key.id, T0 + 5), true);
        assert.equal(await db.keyStore.markWrappingKeyUsed(key.id, T0 + 6), false);
        assert.deepEqual(await db.keyStore.getWrappingKey(key.id), { ...key, usedAt: T0 + 5 });
        assert.equal(await db.keyStore.markWrappingKeyUsed('w-missing', T0), false);
      });
    });
  });
}
