// The keystore store (groups, keystores, credentials, quotas) on both dialects: SQLite in a temp dir,
// and a scratch database on the real PostgreSQL (unreachable PostgreSQL fails rather than skips).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { KeystoreStore } from '../../src/keystores/keystore-store.js';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import { StoreConflictError, StoreNotFoundError } from '../../src/storage/store-errors.js';
import { dialectTargets, suiteDatabase } from '../helpers/dialects.js';
import { newCredential, newGroup, newKeystore, seedKeystore, T0 } from '../helpers/records.js';

for (const target of dialectTargets()) {
  describe(`keystore store on ${target.name}`, () => {
    const database = suiteDatabase(target);
    let keystores: KeystoreStore;
    before(() => {
      keystores = createKeystoreStore(database());
    });

    it('returns timestamps as numbers and secrets as Buffers', async () => {
      const { credential } = await seedKeystore(keystores);
      const stored = await keystores.getCredential(credential.accessKeyId);
      assert.equal(typeof stored?.createdAt, 'number');
      assert.ok(Buffer.isBuffer(stored?.sealedSecret));
    });

    describe('groups', () => {
      it('creates, gets by id and name, and lists', async () => {
        const a = newGroup();
        const b = newGroup();
        await keystores.createGroup(a);
        await keystores.createGroup(b);
        assert.deepEqual(await keystores.getGroup(a.id), a);
        assert.deepEqual(await keystores.getGroupByName(b.name), b);
        assert.equal(await keystores.getGroup('g-missing'), undefined);
        assert.equal(await keystores.getGroupByName('missing'), undefined);
        const listed = (await keystores.listGroups()).filter((g) => g.id === a.id || g.id === b.id);
        assert.deepEqual(
          listed,
          [a, b].sort((x, y) => x.name.localeCompare(y.name)),
        );
      });

      it('refuses a duplicate name or id', async () => {
        const group = newGroup();
        await keystores.createGroup(group);
        await assert.rejects(keystores.createGroup({ ...newGroup(), name: group.name }), {
          name: 'StoreConflictError',
          message: `group name "${group.name}" already exists`,
        });
        await assert.rejects(keystores.createGroup({ ...newGroup(), id: group.id }), {
          name: 'StoreConflictError',
          message: `group id "${group.id}" already exists`,
        });
      });
    });

    describe('keystores', () => {
      it('creates a keystore with its first credential, gets, lists and sets status', async () => {
        const { keystore, credential } = await seedKeystore(keystores);
        assert.deepEqual(await keystores.getKeystoreByName(keystore.name), keystore);
        assert.deepEqual(await keystores.listCredentials(keystore.id), [credential]);
        assert.deepEqual(
          (await keystores.listKeystores()).filter((k) => k.id === keystore.id),
          [keystore],
        );
        await keystores.setKeystoreStatus(keystore.id, 'DISABLED');
        assert.equal((await keystores.getKeystoreByName(keystore.name))?.status, 'DISABLED');
        assert.equal(await keystores.getKeystoreByName('missing'), undefined);
      });

      it('refuses a duplicate name or prefix, naming the owner of the prefix', async () => {
        const { group, keystore } = await seedKeystore(keystores);
        const sameName = { ...newKeystore(group.id), name: keystore.name };
        await assert.rejects(keystores.createKeystore(sameName, newCredential(sameName.id)), {
          name: 'StoreConflictError',
          message: `keystore name "${keystore.name}" already exists`,
        });
        const samePrefix = { ...newKeystore(group.id), prefix: keystore.prefix };
        await assert.rejects(keystores.createKeystore(samePrefix, newCredential(samePrefix.id)), {
          name: 'StoreConflictError',
          message: `prefix "${keystore.prefix}" is already used by keystore "${keystore.name}"`,
        });
      });

      it('rolls back the keystore when its first credential cannot be inserted', async () => {
        const { group, credential } = await seedKeystore(keystores);
        const keystore = newKeystore(group.id);
        await assert.rejects(keystores.createKeystore(keystore, { ...newCredential(keystore.id), accessKeyId: credential.accessKeyId }), {
          name: 'StoreConflictError',
          message: `access key id "${credential.accessKeyId}" already exists`,
        });
        assert.equal(await keystores.getKeystoreByName(keystore.name), undefined);
        assert.deepEqual(await keystores.listCredentials(keystore.id), []);
      });

      it('refuses a keystore in a group that does not exist', async () => {
        const keystore = newKeystore('g-missing');
        await assert.rejects(keystores.createKeystore(keystore, newCredential(keystore.id)), StoreNotFoundError);
        assert.equal(await keystores.getKeystoreByName(keystore.name), undefined);
      });

      it('reports a missing keystore when setting status', async () => {
        await assert.rejects(keystores.setKeystoreStatus('ks-missing', 'DISABLED'), StoreNotFoundError);
      });

      it('sets, changes and removes a request quota (fractional rps kept exactly); none by default', async () => {
        const { keystore } = await seedKeystore(keystores);
        assert.equal((await keystores.getKeystoreByName(keystore.name))?.quota, undefined);
        await keystores.setKeystoreQuota(keystore.id, { rps: 0.25, burst: 3 });
        assert.deepEqual((await keystores.getKeystoreByName(keystore.name))?.quota, { rps: 0.25, burst: 3 });
        await keystores.setKeystoreQuota(keystore.id, { rps: 1500, burst: 3000 });
        assert.deepEqual((await keystores.listKeystores()).find((k) => k.id === keystore.id)?.quota, { rps: 1500, burst: 3000 });
        await keystores.setKeystoreQuota(keystore.id, undefined);
        assert.equal((await keystores.getKeystoreByName(keystore.name))?.quota, undefined);
        await assert.rejects(keystores.setKeystoreQuota('ks-missing', { rps: 1, burst: 1 }), StoreNotFoundError);
      });

      it("keeps a keystore's block reason only while it is BLOCKED", async () => {
        const { keystore } = await seedKeystore(keystores);
        await keystores.setKeystoreStatus(keystore.id, 'BLOCKED', 'leak');
        assert.deepEqual(await keystores.getKeystoreByName(keystore.name), { ...keystore, status: 'BLOCKED', blockReason: 'leak' });
        await keystores.setKeystoreStatus(keystore.id, 'ENABLED', 'ignored');
        assert.deepEqual(await keystores.getKeystoreByName(keystore.name), keystore);
      });
    });

    describe('credentials', () => {
      it('adds, gets, lists per keystore and overall, and removes', async () => {
        const { keystore, credential } = await seedKeystore(keystores);
        const second = newCredential(keystore.id, T0 + 10);
        await keystores.addCredential(second);
        assert.deepEqual(await keystores.getCredential(second.accessKeyId), second);
        assert.deepEqual(await keystores.listCredentials(keystore.id), [credential, second]);
        const all = await keystores.listCredentials();
        assert.ok(all.some((c) => c.accessKeyId === credential.accessKeyId));
        assert.ok(all.some((c) => c.accessKeyId === second.accessKeyId));

        await keystores.removeCredential(keystore.id, credential.accessKeyId);
        assert.equal(await keystores.getCredential(credential.accessKeyId), undefined);
        assert.deepEqual(await keystores.listCredentials(keystore.id), [second]);
      });

      it('refuses a duplicate access key id and a missing keystore', async () => {
        const { keystore, credential } = await seedKeystore(keystores);
        const duplicate = { ...newCredential(keystore.id), accessKeyId: credential.accessKeyId };
        await assert.rejects(keystores.addCredential(duplicate), {
          name: 'StoreConflictError',
          message: `access key id "${credential.accessKeyId}" already exists`,
        });
        await assert.rejects(keystores.addCredential(newCredential('ks-missing')), StoreNotFoundError);
      });

      it("refuses to remove a keystore's last credential", async () => {
        const { keystore, credential } = await seedKeystore(keystores);
        await assert.rejects(keystores.removeCredential(keystore.id, credential.accessKeyId), StoreConflictError);
        assert.deepEqual(await keystores.getCredential(credential.accessKeyId), credential);
      });

      it('reports a credential that does not exist or belongs to another keystore', async () => {
        const one = await seedKeystore(keystores);
        const other = await seedKeystore(keystores);
        await keystores.addCredential(newCredential(one.keystore.id));
        await assert.rejects(keystores.removeCredential(one.keystore.id, 'AKIAMISSING'), StoreNotFoundError);
        await assert.rejects(keystores.removeCredential(one.keystore.id, other.credential.accessKeyId), StoreNotFoundError);
        await assert.rejects(keystores.removeCredential('ks-missing', one.credential.accessKeyId), StoreNotFoundError);
        assert.deepEqual(await keystores.getCredential(other.credential.accessKeyId), other.credential);
      });

      it('never lets two concurrent removals take the last two credentials', async () => {
        // Several keystores at once, so that an unlocked check-then-delete would reliably lose a race.
        const races = await Promise.all(
          Array.from({ length: 5 }, async () => {
            const { keystore, credential } = await seedKeystore(keystores);
            const second = newCredential(keystore.id);
            await keystores.addCredential(second);
            return { keystore, pair: [credential, second] };
          }),
        );
        const results = await Promise.allSettled(
          races.flatMap(({ keystore, pair }) => pair.map((c) => keystores.removeCredential(keystore.id, c.accessKeyId))),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, races.length);
        for (const r of results) {
          if (r.status === 'rejected') assert.ok(r.reason instanceof StoreConflictError, String(r.reason));
        }
        for (const { keystore } of races) {
          assert.equal((await keystores.listCredentials(keystore.id)).length, 1);
        }
      });
    });
  });
}
