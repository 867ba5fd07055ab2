/**
 * The node-wide kill switch on a real database (SQLite and PostgreSQL): it is kept in the database,
 * so another node (or a restart) reads it back, and its XKS gate refuses every key operation while on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { createKillSwitch } from '../../src/kill-switch/create-kill-switch.js';
import { createKillSwitchStore } from '../../src/kill-switch/sql-kill-switch-store.js';
import type { LiveKeystore } from '../../src/registry/live-state.js';
import { dialectTargets, suiteDatabase } from '../helpers/dialects.js';

/** Any keystore: the node-wide switch refuses every one. */
const keystore: LiveKeystore = {
  keystore: { id: 'ks-1', name: 'ks', prefix: '/ks', region: 'us-east-1', groupId: 'g-1', status: 'ENABLED', createdAt: 0 },
  secrets: new Map(),
};

for (const target of dialectTargets()) {
  describe(`the node-wide kill switch on ${target.name}`, () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    const open = suiteDatabase(target);

    it('keeps the node-wide kill switch in the database: another node (or a restart) reads it back', async () => {
      const node = createKillSwitch({ store: createKillSwitchStore(open()), clock });
      assert.equal((await node.engage({ reason: 'breach drill' })).on, true);
      assert.equal(node.gate('Encrypt', keystore)?.errorName, 'InvalidStateException');
      const other = createKillSwitch({ store: createKillSwitchStore(open()), clock });
      assert.equal(other.gate('Encrypt', keystore), undefined, 'not read yet');
      assert.deepEqual(await other.refresh(), { on: true, reason: 'breach drill', since: new Date(clock.now()).toISOString() });
      assert.equal(other.gate('Decrypt', keystore)?.errorName, 'InvalidStateException');
      await node.release();
      assert.equal((await other.refresh()).on, false);
      assert.equal(other.gate('Decrypt', keystore), undefined);
    });
  });
}
