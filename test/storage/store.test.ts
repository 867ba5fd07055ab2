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
import type { AdminToken, Group, Keystore, NodeRecord, StoredCredential } from '../../src/domain/types.js';

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
      const { credential } = await seedKeystore();
      const stored = await store.getCredential(credential.accessKeyId);
      assert.equal(typeof stored?.createdAt, 'number');
      assert.ok(Buffer.isBuffer(stored?.sealedSecret));
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

      it("keeps a keystore's block reason only while it is BLOCKED", async () => {
        const { keystore } = await seedKeystore();
        await store.setKeystoreStatus(keystore.id, 'BLOCKED', 'leak');
        assert.deepEqual(await store.getKeystoreByName(keystore.name), { ...keystore, status: 'BLOCKED', blockReason: 'leak' });
        await store.setKeystoreStatus(keystore.id, 'ENABLED', 'ignored');
        assert.deepEqual(await store.getKeystoreByName(keystore.name), keystore);
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

    describe('admin tokens', () => {
      it('creates and lists, refusing a duplicate id', async () => {
        const token: AdminToken = { id: `t-${unique()}`, name: 'ci', tokenHash: bytes(32), createdAt: T0 };
        await store.createAdminToken(token);
        assert.deepEqual(
          (await store.listAdminTokens()).filter((t) => t.id === token.id),
          [token],
        );
        await assert.rejects(store.createAdminToken({ ...token, tokenHash: bytes(32) }), StoreConflictError);
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
