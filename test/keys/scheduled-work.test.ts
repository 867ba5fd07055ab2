/**
 * The node's own key work on a real database (SQLite and PostgreSQL), driven by a ManualClock: the
 * scheduler rotates keys whose rotation is due and destroys keys past their deletion date, finishes a
 * destruction that was interrupted, retries one the root of trust refused, and two nodes running it on
 * one database do each change once (compare-and-set); the other node then catches up (syncLive).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { startRotationScheduler } from '../../src/keys/rotation-scheduler.js';
import { recordingEvents } from '../helpers/admin-events.js';
import { dialectTargets } from '../helpers/dialects.js';
import { keyNodeOn, useKeyTestDatabase } from '../helpers/key-nodes.js';
import { managementError } from '../helpers/management-errors.js';

const DAY = 24 * 60 * 60 * 1000;
const SCHEDULER = { kind: 'system', id: 'node-a', name: 'scheduler' };

for (const target of dialectTargets()) {
  describe(`scheduled key work on ${target.name}`, () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    const db = useKeyTestDatabase(target, clock);
    const keys = () => db.node.keys;

    it('the scheduler rotates due keys and destroys keys past their deletion date, recording each as the system actor', async () => {
      const rotating = await db.freshKey();
      const deleting = await db.freshKey();
      await keys().setRotationPolicy({ id: rotating, days: 90 });
      await keys().scheduleDeletion({ id: deleting, days: 7 });
      const sink = recordingEvents();
      const scheduler = startRotationScheduler({
        keys: keys(),
        nodeId: 'node-a',
        logger: pino({ level: 'silent' }),
        events: sink,
        intervalMs: 3_600_000,
      });
      try {
        clock.advance(7 * DAY);
        const first = await scheduler.tick();
        assert.deepEqual(
          first.destroyed.map((d) => d.key),
          [deleting],
        );
        assert.deepEqual(
          first.rotated.filter((r) => r.key === rotating),
          [],
        );
        assert.equal((await keys().show(deleting)).status, 'DESTROYED');
        assert.ok(
          db.node.root.destroyed.some((d) => d.endsWith(':61')),
          'the root was asked to destroy the material',
        );
        const { groupId } = await db.record(deleting);
        assert.equal(db.node.live.key(groupId, deleting)?.versions.size, 0, 'the data plane forgot it');
        await assert.rejects(keys().create({ id: deleting, keystore: 'ks' }), managementError('conflict', /never reused/));

        clock.advance(83 * DAY);
        const second = await scheduler.tick();
        assert.deepEqual(
          second.rotated.filter((r) => r.key === rotating).map((r) => r.version),
          [2],
        );
        assert.equal((await keys().show(rotating)).nextRotationAt, new Date(clock.now() + 90 * DAY).toISOString());
        assert.deepEqual(
          (await scheduler.tick()).rotated.filter((r) => r.key === rotating),
          [],
        );
        assert.deepEqual(
          sink.events
            .filter((e) => e.target?.key === rotating || e.target?.key === deleting)
            .map((e) => [e.actor, e.action, e.target?.key, e.outcome]),
          [
            [SCHEDULER, 'key.destroy', deleting, 'success'],
            [SCHEDULER, 'key.rotate', rotating, 'success'],
          ],
        );
      } finally {
        await scheduler.stop();
      }
    });

    it('finishes a destruction that was interrupted after the key was marked DESTROYED', async () => {
      const id = await db.freshKey();
      const record = await db.record(id);
      const { keyStore } = db.node;
      await keyStore.updateKey(record.id, { status: 'DESTROYED' }, clock.now());
      await keys().runDue();
      assert.deepEqual(
        (await keyStore.listKeyVersions(record.id)).map((v) => [v.state, v.sealedMaterial.length]),
        [['DESTROYED', 0]],
      );
      assert.deepEqual(
        (await keyStore.listKeysDue(clock.now())).filter((k) => k.id === record.id),
        [],
      );
    });

    it('a destruction the root of trust refuses is reported as a failure, the key stays unusable, and the next pass finishes it', async () => {
      let refusals = 1;
      const flaky = keyNodeOn(db.store, clock, (root) => ({
        ...root,
        destroyKeyMaterial: (reference, context) =>
          refusals-- > 0 ? Promise.reject(new Error('HSM session lost')) : root.destroyKeyMaterial(reference, context),
      }));
      const id = await db.freshKey();
      await keys().scheduleDeletion({ id, days: 7 });
      clock.advance(7 * DAY);
      const sink = recordingEvents();
      const scheduler = startRotationScheduler({
        keys: flaky.keys,
        nodeId: 'node-b',
        logger: pino({ level: 'silent' }),
        events: sink,
        intervalMs: 3_600_000,
      });
      try {
        const first = await scheduler.tick();
        assert.deepEqual(
          first.failed.map((f) => [f.key, f.action, f.reason]),
          [[id, 'destroy', 'HSM session lost']],
        );
        assert.deepEqual(
          sink.events.map((e) => [e.action, e.outcome, e.detail]),
          [['key.destroy', 'failure', 'HSM session lost']],
        );
        assert.equal((await keys().show(id)).status, 'DESTROYED', 'the key is never usable again, whatever the root says');
        const second = await scheduler.tick();
        assert.deepEqual(second.failed, []);
        assert.deepEqual(
          (await db.node.keyStore.listKeyVersions((await db.record(id)).id)).map((v) => [v.state, v.sealedMaterial.length]),
          [['DESTROYED', 0]],
        );
      } finally {
        await scheduler.stop();
      }
    });

    it('two nodes running the scheduler at once rotate a due key once and destroy a due key once; the other node catches up', async () => {
      const other = keyNodeOn(db.store, clock);
      await other.keys.loadAll();
      const rotating = await db.freshKey();
      const deleting = await db.freshKey();
      await keys().setRotationPolicy({ id: rotating, days: 1 });
      await keys().scheduleDeletion({ id: deleting, days: 7 });
      clock.advance(7 * DAY);
      const [a, b] = await Promise.all([keys().runDue(), other.keys.runDue()]);
      const rotations = [...a.rotated, ...b.rotated].filter((r) => r.key === rotating);
      assert.deepEqual(
        rotations.map((r) => r.version),
        [2],
        JSON.stringify({ a, b }),
      );
      assert.deepEqual([...a.destroyed, ...b.destroyed].filter((d) => d.key === deleting).length, 1);
      assert.deepEqual([...a.failed, ...b.failed], []);
      const record = await db.record(rotating);
      assert.deepEqual(
        (await db.node.keyStore.listKeyVersions(record.id)).map((v) => v.version),
        [1, 2],
      );

      await other.keys.syncLive();
      const caughtUp = other.live.key(record.groupId, rotating);
      assert.equal(caughtUp?.record.currentVersion, 2);
      assert.deepEqual([...caughtUp.versions.keys()], [1, 2]);
    });
  });
}
