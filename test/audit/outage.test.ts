// A real node on PostgreSQL whose database goes away: durable mode keeps answering (events spooled,
// replayed on recovery); fail-closed mode fails the request with 500 InternalException.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createScratchDatabase, databaseOutage, type ScratchDatabase } from '../helpers/postgres.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { encryptBody, metadata, xks } from '../helpers/xks-client.js';

async function withOutage<T>(url: string, during: () => Promise<T>): Promise<T> {
  const outage = databaseOutage(url);
  await outage.begin();
  try {
    return await during();
  } finally {
    await outage.end();
  }
}

const encryptWithId = (node: TestNode, kmsRequestId: string) =>
  xks(node, { operation: 'encrypt', body: { ...encryptBody(randomBytes(8)), requestMetadata: { ...metadata('Encrypt'), kmsRequestId } } });

describe('audit when the database goes away (PostgreSQL)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  async function nodeOn(mode: 'durable' | 'fail-closed'): Promise<{ node: TestNode; db: ScratchDatabase }> {
    const db = await createScratchDatabase();
    cleanups.push(() => db.drop());
    const node = await startTestNode({ databaseUrl: db.url, audit: { mode, retryIntervalMs: 100 } });
    cleanups.push(() => node.close());
    return { node, db };
  }

  it('durable: XKS keeps answering from memory, events go to the local spool and reach the database on recovery', async () => {
    const { node, db } = await nodeOn('durable');
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    await withOutage(db.url, async () => {
      for (const id of ids) assert.equal((await encryptWithId(node, id)).status, 200);
      assert.equal(node.node.audit.status().spooled, 3);
    });
    const after = randomUUID();
    assert.equal((await encryptWithId(node, after)).status, 200);
    const deadline = Date.now() + 10_000;
    while (node.node.audit.status().spooled > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const events = await node.node.audit.store.search({ action: 'Encrypt', limit: 100 });
    const order = events.map((e) => e.kmsRequestId);
    assert.deepEqual(order.slice(-4), [...ids, after]);
    assert.equal((await node.node.audit.verify()).ok, true);
  });

  it('fail-closed: a request whose event cannot be committed is answered 500 InternalException', async () => {
    const { node, db } = await nodeOn('fail-closed');
    const response = await withOutage(db.url, () => encryptWithId(node, randomUUID()));
    assert.equal(response.status, 500);
    assert.equal((response.json as { errorName?: string }).errorName, 'InternalException');
    assert.equal(node.node.audit.status().spooled, 0);
    assert.equal((await encryptWithId(node, randomUUID())).status, 200);
  });
});
