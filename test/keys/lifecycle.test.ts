/**
 * The key service's lifecycle on a real database (SQLite and PostgreSQL) and the software root of
 * trust: transitions and their refusals, tags and description, and versions (rotate, revoke, destroy).
 * The scheduler's work is in scheduled-work.test.ts, bring-your-own-key in import.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { dialectTargets } from '../helpers/dialects.js';
import { useKeyTestDatabase } from '../helpers/key-nodes.js';
import { managementError } from '../helpers/management-errors.js';

const DAY = 24 * 60 * 60 * 1000;

for (const target of dialectTargets()) {
  describe(`key lifecycle on ${target.name}`, () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    const db = useKeyTestDatabase(target, clock);
    const keys = () => db.node.keys;

    it('moves between states only along the documented transitions, each refusal one line and changing nothing', async () => {
      const id = await db.freshKey();
      const show = () => keys().show(id);
      await assert.rejects(keys().unblock({ id }), managementError('conflict', /is enabled; cannot unblock it/));
      await assert.rejects(keys().cancelDeletion({ id }), managementError('conflict', /cannot cancel its deletion/));
      await assert.rejects(keys().block({ id, reason: '' }), managementError('invalid', /give a reason/));
      for (const days of [6, 31, 7.5])
        await assert.rejects(keys().scheduleDeletion({ id, days }), managementError('invalid', /7 to 30 days/));
      assert.equal((await show()).status, 'ENABLED');

      assert.equal((await keys().block({ id, reason: 'leak' })).blockReason, 'leak');
      await assert.rejects(keys().enable(id), managementError('conflict', /is blocked \(leak\); unblock it first/));
      await assert.rejects(keys().disable(id), managementError('conflict', /unblock it first/));
      const unblocked = await keys().unblock({ id });
      assert.equal(unblocked.status, 'ENABLED');
      assert.equal(unblocked.blockReason, undefined);

      const pending = await keys().scheduleDeletion({ id, days: 10 });
      assert.equal(pending.deletionDate, new Date(clock.now() + 10 * DAY).toISOString());
      const before = JSON.stringify(await show());
      await assert.rejects(keys().enable(id), managementError('conflict', /pending deletion .*cancel the deletion first/));
      await assert.rejects(keys().rotate({ id }), managementError('conflict', /pending deletion/));
      await assert.rejects(keys().block({ id, reason: 'x' }), managementError('conflict', /pending deletion/));
      assert.equal(JSON.stringify(await show()), before);
      assert.equal((await keys().cancelDeletion({ id })).status, 'DISABLED');
    });

    it('validates tags, description, rotation period and minimum decryption version', async () => {
      const id = await db.freshKey({ description: 'payments', tags: { team: 'core' } });
      assert.deepEqual((await keys().setTags({ id, set: { env: 'prod' } })).tags, { team: 'core', env: 'prod' });
      assert.deepEqual((await keys().setTags({ id, remove: ['team'] })).tags, { env: 'prod' });
      await assert.rejects(keys().setTags({ id, remove: ['nope'] }), managementError('not-found', /has no tag "nope"/));
      await assert.rejects(keys().setTags({ id, set: { 'bad\nname': 'x' } }), managementError('invalid', /tag name/));
      await assert.rejects(keys().setTags({ id, set: { big: 'v'.repeat(257) } }), managementError('invalid', /at most 256/));
      const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v']));
      await assert.rejects(keys().setTags({ id, set: many }), managementError('invalid', /at most 50 tags/));
      await assert.rejects(keys().describe({ id, description: 'x'.repeat(257) }), managementError('invalid', /description/));
      assert.equal((await keys().describe({ id, description: 'card payments' })).description, 'card payments');
      await assert.rejects(keys().setRotationPolicy({ id, days: 0 }), managementError('invalid', /1 to 3650 days/));
      await assert.rejects(keys().setMinDecryptVersion({ id, version: 2 }), managementError('invalid', /must be 1 to 1/));
      const shown = await keys().show(id);
      assert.deepEqual(shown.tags, { env: 'prod' });
      assert.equal(shown.minDecryptVersion, 1);
    });

    it('revokes and destroys old versions only on purpose, never the current one', async () => {
      const id = await db.freshKey();
      await keys().rotate({ id });
      await assert.rejects(keys().revokeVersion({ id, version: 2 }), managementError('conflict', /current version .* rotate first/));
      await assert.rejects(keys().revokeVersion({ id, version: 5 }), managementError('not-found', /has no version 5/));
      await assert.rejects(keys().destroyVersion({ id, version: 1 }), managementError('conflict', /still decrypts; revoke it/));
      assert.equal((await keys().revokeVersion({ id, version: 1 })).state, 'REVOKED');
      await assert.rejects(keys().revokeVersion({ id, version: 1 }), managementError('conflict', /already revoked/));
      const destroysBefore = db.node.root.destroyed.length;
      assert.equal((await keys().destroyVersion({ id, version: 1 })).state, 'DESTROYED');
      assert.equal(db.node.root.destroyed.length, destroysBefore + 1);
      const versions = await db.node.keyStore.listKeyVersions((await db.record(id)).id);
      assert.deepEqual(
        versions.map((v) => [v.version, v.state, v.sealedMaterial.length]),
        [
          [1, 'DESTROYED', 0],
          [2, 'ENABLED', 61],
        ],
      );
      assert.deepEqual(
        (await keys().listVersions({ id })).map((v) => [v.version, v.current, v.decrypts]),
        [
          [1, false, false],
          [2, true, true],
        ],
      );
    });
  });
}
