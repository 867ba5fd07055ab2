// One suite, run against both dialects: SQLite in a temp dir, and a real PostgreSQL
// (KEYHOLD_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres). If PostgreSQL
// is unreachable the PostgreSQL suite fails rather than skips: CI provides it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { openStore } from '../../src/storage/open-store.js';
import { StoreConflictError, StoreNotFoundError, type Store } from '../../src/storage/store.js';
import { dialectTargets, type DialectTarget } from '../helpers/dialects.js';
import type { Group, KeyRecord, Keystore, NodeRecord, StoredCredential, StoredKeyVersion } from '../../src/domain/types.js';

// Fixtures. Timestamps are above 2^32 so an unparsed PostgreSQL int8 (a string) would show.
const T0 = 1_700_000_000_000;
const unique = () => randomBytes(5).toString('hex');
const bytes = (n = 32) => randomBytes(n);

const newGroup = (): Group => ({ id: `g-${unique()}`, name: `group-${unique()}`, createdAt: T0 });
const newKeystore = (groupId: string): Keystore => {
  const u = unique();
  return {
    id: `ks-${u}`,
    name: `ks-${u}`,
    prefix: `/p-${u}`,
    region: 'us-east-1',
    groupId,
    status: 'ENABLED',
    createdAt: T0 + 1,
  };
};
const newCredential = (keystoreId: string, createdAt = T0 + 2): StoredCredential => ({
  accessKeyId: `AKIA${unique().toUpperCase()}`,
  keystoreId,
  sealedSecret: bytes(48),
  createdAt,
});
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
  describe(`Store on ${name}`, () => {
    let store: Store;

    async function seedKeystore() {
      const group = newGroup();
      await store.createGroup(group);
      const keystore = newKeystore(group.id);
      const credential = newCredential(keystore.id);
      await store.createKeystore(keystore, credential);
      return { group, keystore, credential };
    }

    before(async () => {
      await target.setUp();
      store = await target.open();
    });

    after(async () => {
      await store?.close();
      await target.tearDown();
    });

    it('reports its dialect', () => {
      assert.equal(store.dialect, name);
    });

    it('runs migrations idempotently: a second open sees the same data', async () => {
      const group = newGroup();
      await store.createGroup(group);
      const second = await target.open();
      try {
        assert.deepEqual(await second.getGroup(group.id), group);
      } finally {
        await second.close();
      }
    });

    it('returns numbers as numbers and binary as Buffers', async () => {
      const { group, credential } = await seedKeystore();
      const key = newKey(group.id);
      await store.createKey(key, versionOf(key));
      const [version] = await store.listKeyVersions(key.id);
      const stored = await store.getCredential(credential.accessKeyId);
      const storedKey = await store.getKeyById(key.id);
      assert.equal(typeof stored?.createdAt, 'number');
      assert.ok(Buffer.isBuffer(stored?.sealedSecret));
      assert.equal(typeof storedKey?.currentVersion, 'number');
      assert.equal(typeof storedKey?.updatedAt, 'number');
      assert.equal(storedKey?.internal, false);
      assert.ok(Buffer.isBuffer(version?.sealedMaterial));
      assert.equal(typeof version?.version, 'number');
    });

    describe('groups', () => {
      it('creates, gets by id and name, and lists', async () => {
        const a = newGroup();
        const b = newGroup();
        await store.createGroup(a);
        await store.createGroup(b);
        assert.deepEqual(await store.getGroup(a.id), a);
        assert.deepEqual(await store.getGroupByName(b.name), b);
        assert.equal(await store.getGroup('g-missing'), undefined);
        assert.equal(await store.getGroupByName('missing'), undefined);
        const listed = (await store.listGroups()).filter((g) => g.id === a.id || g.id === b.id);
        assert.deepEqual(
          listed,
          [a, b].sort((x, y) => x.name.localeCompare(y.name)),
        );
      });

      it('refuses a duplicate name or id', async () => {
        const group = newGroup();
        await store.createGroup(group);
        await assert.rejects(store.createGroup({ ...newGroup(), name: group.name }), {
          name: 'StoreConflictError',
          message: `group name "${group.name}" already exists`,
        });
        await assert.rejects(store.createGroup({ ...newGroup(), id: group.id }), {
          name: 'StoreConflictError',
          message: `group id "${group.id}" already exists`,
        });
      });
    });

    describe('keystores', () => {
      it('creates a keystore with its first credential, gets, lists and sets status', async () => {
        const { keystore, credential } = await seedKeystore();
        assert.deepEqual(await store.getKeystoreByName(keystore.name), keystore);
        assert.deepEqual(await store.listCredentials(keystore.id), [credential]);
        assert.deepEqual(
          (await store.listKeystores()).filter((k) => k.id === keystore.id),
          [keystore],
        );
        await store.setKeystoreStatus(keystore.id, 'DISABLED');
        assert.equal((await store.getKeystoreByName(keystore.name))?.status, 'DISABLED');
        assert.equal(await store.getKeystoreByName('missing'), undefined);
      });

      it('refuses a duplicate name or prefix, naming the owner of the prefix', async () => {
        const { group, keystore } = await seedKeystore();
        const sameName = { ...newKeystore(group.id), name: keystore.name };
        await assert.rejects(store.createKeystore(sameName, newCredential(sameName.id)), {
          name: 'StoreConflictError',
          message: `keystore name "${keystore.name}" already exists`,
        });
        const samePrefix = { ...newKeystore(group.id), prefix: keystore.prefix };
        await assert.rejects(store.createKeystore(samePrefix, newCredential(samePrefix.id)), {
          name: 'StoreConflictError',
          message: `prefix "${keystore.prefix}" is already used by keystore "${keystore.name}"`,
        });
      });

      it('rolls back the keystore when its first credential cannot be inserted', async () => {
        const { group, credential } = await seedKeystore();
        const keystore = newKeystore(group.id);
        await assert.rejects(store.createKeystore(keystore, { ...newCredential(keystore.id), accessKeyId: credential.accessKeyId }), {
          name: 'StoreConflictError',
          message: `access key id "${credential.accessKeyId}" already exists`,
        });
        assert.equal(await store.getKeystoreByName(keystore.name), undefined);
        assert.deepEqual(await store.listCredentials(keystore.id), []);
      });

      it('refuses a keystore in a group that does not exist', async () => {
        const keystore = newKeystore('g-missing');
        await assert.rejects(store.createKeystore(keystore, newCredential(keystore.id)), StoreNotFoundError);
        assert.equal(await store.getKeystoreByName(keystore.name), undefined);
      });

      it('reports a missing keystore when setting status', async () => {
        await assert.rejects(store.setKeystoreStatus('ks-missing', 'DISABLED'), StoreNotFoundError);
      });

      it('sets, changes and removes a request quota (fractional rps kept exactly); none by default', async () => {
        const { keystore } = await seedKeystore();
        assert.equal((await store.getKeystoreByName(keystore.name))?.quota, undefined);
        await store.setKeystoreQuota(keystore.id, { rps: 0.25, burst: 3 });
        assert.deepEqual((await store.getKeystoreByName(keystore.name))?.quota, { rps: 0.25, burst: 3 });
        await store.setKeystoreQuota(keystore.id, { rps: 1500, burst: 3000 });
        assert.deepEqual((await store.listKeystores()).find((k) => k.id === keystore.id)?.quota, { rps: 1500, burst: 3000 });
        await store.setKeystoreQuota(keystore.id, undefined);
        assert.equal((await store.getKeystoreByName(keystore.name))?.quota, undefined);
        await assert.rejects(store.setKeystoreQuota('ks-missing', { rps: 1, burst: 1 }), StoreNotFoundError);
      });
    });

    describe('credentials', () => {
      it('adds, gets, lists per keystore and overall, and removes', async () => {
        const { keystore, credential } = await seedKeystore();
        const second = newCredential(keystore.id, T0 + 10);
        await store.addCredential(second);
        assert.deepEqual(await store.getCredential(second.accessKeyId), second);
        assert.deepEqual(await store.listCredentials(keystore.id), [credential, second]);
        const all = await store.listCredentials();
        assert.ok(all.some((c) => c.accessKeyId === credential.accessKeyId));
        assert.ok(all.some((c) => c.accessKeyId === second.accessKeyId));

        await store.removeCredential(keystore.id, credential.accessKeyId);
        assert.equal(await store.getCredential(credential.accessKeyId), undefined);
        assert.deepEqual(await store.listCredentials(keystore.id), [second]);
      });

      it('refuses a duplicate access key id and a missing keystore', async () => {
        const { keystore, credential } = await seedKeystore();
        const duplicate = { ...newCredential(keystore.id), accessKeyId: credential.accessKeyId };
        await assert.rejects(store.addCredential(duplicate), {
          name: 'StoreConflictError',
          message: `access key id "${credential.accessKeyId}" already exists`,
        });
        await assert.rejects(store.addCredential(newCredential('ks-missing')), StoreNotFoundError);
      });

      it("refuses to remove a keystore's last credential", async () => {
        const { keystore, credential } = await seedKeystore();
        await assert.rejects(store.removeCredential(keystore.id, credential.accessKeyId), StoreConflictError);
        assert.deepEqual(await store.getCredential(credential.accessKeyId), credential);
      });

      it('reports a credential that does not exist or belongs to another keystore', async () => {
        const one = await seedKeystore();
        const other = await seedKeystore();
        await store.addCredential(newCredential(one.keystore.id));
        await assert.rejects(store.removeCredential(one.keystore.id, 'AKIAMISSING'), StoreNotFoundError);
        await assert.rejects(store.removeCredential(one.keystore.id, other.credential.accessKeyId), StoreNotFoundError);
        await assert.rejects(store.removeCredential('ks-missing', one.credential.accessKeyId), StoreNotFoundError);
        assert.deepEqual(await store.getCredential(other.credential.accessKeyId), other.credential);
      });

      it('never lets two concurrent removals take the last two credentials', async () => {
        // Several keystores at once, so that an unlocked check-then-delete would reliably lose a race.
        const races = await Promise.all(
          Array.from({ length: 5 }, async () => {
            const { keystore, credential } = await seedKeystore();
            const second = newCredential(keystore.id);
            await store.addCredential(second);
            return { keystore, pair: [credential, second] };
          }),
        );
        const results = await Promise.allSettled(
          races.flatMap(({ keystore, pair }) => pair.map((c) => store.removeCredential(keystore.id, c.accessKeyId))),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, races.length);
        for (const r of results) {
          if (r.status === 'rejected') assert.ok(r.reason instanceof StoreConflictError, String(r.reason));
        }
        for (const { keystore } of races) {
          assert.equal((await store.listCredentials(keystore.id)).length, 1);
        }
      });
    });

    describe('keys', () => {
      it('creates a key with version 1, gets it both ways, and lists', async () => {
        const group = newGroup();
        await store.createGroup(group);
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
        const { group } = await seedKeystore();
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
        await store.createGroup(a);
        await store.createGroup(b);
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
        await store.createGroup(group);
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
        assert.deepEqual(updated?.usage, ['DECRYPT']);
      });

      it('reports a missing key or version on update and changes nothing', async () => {
        const group = newGroup();
        await store.createGroup(group);
        const key = newKey(group.id);
        await store.createKey(key, versionOf(key));
        await assert.rejects(store.updateKey('k-missing', { status: 'DISABLED' }, T0 + 100), StoreNotFoundError);
        await assert.rejects(store.updateKey(key.id, { status: 'DISABLED', currentVersion: 7 }, T0 + 100), StoreNotFoundError);
        assert.deepEqual(await store.getKeyById(key.id), key);
      });

      it('adds versions in order and refuses duplicates and missing keys', async () => {
        const group = newGroup();
        await store.createGroup(group);
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
        await store.createGroup(group);
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
        await store.createGroup(group);
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

      it("keeps a keystore's block reason only while it is BLOCKED", async () => {
        const { keystore } = await seedKeystore();
        await store.setKeystoreStatus(keystore.id, 'BLOCKED', 'leak');
        assert.deepEqual(await store.getKeystoreByName(keystore.name), { ...keystore, status: 'BLOCKED', blockReason: 'leak' });
        await store.setKeystoreStatus(keystore.id, 'ENABLED', 'ignored');
        assert.deepEqual(await store.getKeystoreByName(keystore.name), keystore);
      });
    });

    describe('fleet', () => {
      it('upserts heartbeats and lists nodes seen since a time', async () => {
        const base = T0 + 1_000_000 + Math.floor(Math.random() * 1_000_000) * 1000;
        const a: NodeRecord = { id: `n-a-${unique()}`, hostname: 'a', startedAt: base, lastSeenAt: base };
        const b: NodeRecord = { id: `n-b-${unique()}`, hostname: 'b', startedAt: base, lastSeenAt: base };
        await store.heartbeat(a);
        await store.heartbeat(b);
        const aLater = { ...a, hostname: 'a2', lastSeenAt: base + 500 };
        await store.heartbeat(aLater);

        const mine = (nodes: NodeRecord[]) => nodes.filter((n) => n.id === a.id || n.id === b.id);
        assert.deepEqual(mine(await store.listNodesSeenSince(base)), [aLater, b]);
        assert.deepEqual(mine(await store.listNodesSeenSince(base + 1)), [aLater]);
        assert.deepEqual(mine(await store.listNodesSeenSince(base + 501)), []);
      });
    });
  });
}

for (const target of dialectTargets()) storeSuite(target.name, target);

describe('openStore', () => {
  it('creates the SQLite file and its directory, in WAL mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-open-'));
    try {
      const path = join(dir, 'nested', 'keyhold.db');
      const store = await openStore({ sqlitePath: path });
      await store.close();
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
      openStore({ databaseUrl: 'mysql://root:secret@db/keyhold', sqlitePath: '/tmp/unused.db' }),
      (err: Error) => err.message.includes('unsupported database URL') && !err.message.includes('secret'),
    );
  });

  it('requires some database', async () => {
    await assert.rejects(openStore({}), /no database configured/);
  });
});
