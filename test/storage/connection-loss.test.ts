/**
 * A PostgreSQL connection that drops in the middle of a query fails that query and nothing else: the node
 * stays up and serves the next request on a new connection. (pg emits 'error' on a pooled client that is
 * checked out; unheard, it ended the process — found by the database outage drill, bench/fleet-drill.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { createScratchDatabase, lockTable, type ScratchDatabase } from '../helpers/postgres.js';
import { admin } from '../helpers/xks-client.js';

describe('a PostgreSQL connection lost mid-query', () => {
  let database: ScratchDatabase | undefined;
  let node: TestNode | undefined;
  const started = () => node ?? assert.fail('the node did not start');

  before(async () => {
    database = await createScratchDatabase();
    node = await startTestNode({ databaseUrl: database.url });
  });
  after(async () => {
    await node?.close();
    await database?.drop();
  });

  it('fails that request only; the node keeps serving', async () => {
    assert.ok(database);
    const lock = await lockTable(database.url, 'settings');
    const change = admin(started(), 'PUT', '/node/kill-switch', { on: true, reason: 'blocked' });
    await lock.writerWaiting();
    const killer = new pg.Client({ connectionString: database.url });
    await killer.connect();
    try {
      // The blocked writer is the backend waiting for a lock: cut it mid-query.
      const cut = await killer.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      assert.equal(cut.rowCount, 1);
    } finally {
      await killer.end();
      await lock.release();
    }
    const failed = await change;
    assert.equal(failed.status, 500, failed.text);
    const status = await admin(started(), 'GET', '/node/kill-switch');
    assert.equal(status.status, 200, status.text);
    assert.equal((status.json as { on: boolean }).on, false, 'the lost change was not applied');
  });
});
