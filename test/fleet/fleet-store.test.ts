// The fleet table on both dialects: SQLite in a temp dir, and a scratch database on the real PostgreSQL.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { FleetStore, NodeRecord } from '../../src/fleet/fleet-store.js';
import { createFleetStore } from '../../src/fleet/sql-fleet-store.js';
import { dialectTargets, suiteDatabase } from '../helpers/dialects.js';
import { T0, unique } from '../helpers/records.js';

for (const target of dialectTargets()) {
  describe(`fleet store on ${target.name}`, () => {
    const database = suiteDatabase(target);
    let fleet: FleetStore;
    before(() => {
      fleet = createFleetStore(database());
    });

    it('upserts heartbeats and lists nodes seen since a time', async () => {
      const base = T0 + 1_000_000 + Math.floor(Math.random() * 1_000_000) * 1000;
      const a: NodeRecord = { id: `n-a-${unique()}`, hostname: 'a', startedAt: base, lastSeenAt: base };
      const b: NodeRecord = { id: `n-b-${unique()}`, hostname: 'b', startedAt: base, lastSeenAt: base };
      await fleet.heartbeat(a);
      await fleet.heartbeat(b);
      const aLater = { ...a, hostname: 'a2', lastSeenAt: base + 500 };
      await fleet.heartbeat(aLater);

      const mine = (nodes: NodeRecord[]) => nodes.filter((n) => n.id === a.id || n.id === b.id);
      assert.deepEqual(mine(await fleet.listNodesSeenSince(base)), [aLater, b]);
      assert.deepEqual(mine(await fleet.listNodesSeenSince(base + 1)), [aLater]);
      assert.deepEqual(mine(await fleet.listNodesSeenSince(base + 501)), []);
    });
  });
}
