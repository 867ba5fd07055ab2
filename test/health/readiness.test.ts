/**
 * /healthz and /readyz on real nodes: a sealed Shamir node, and a PostgreSQL node whose database goes away
 * and comes back (test/helpers/postgres.ts databaseOutage). Separate from XKS GetHealthStatus.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { find, getPath, scrape } from '../helpers/metrics.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { createScratchDatabase, databaseOutage, type ScratchDatabase } from '../helpers/postgres.js';
import { admin, healthBody, xks } from '../helpers/xks-client.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

async function readyz(node: TestNode, query = ''): Promise<{ status: number; checks: Record<string, Check> }> {
  const response = await getPath(node, `/readyz${query}`);
  assert.ok([200, 503].includes(response.status), response.text);
  const body = response.json as { status: string; checks: Check[] };
  assert.equal(body.status, response.status === 200 ? 'ready' : 'not ready');
  return { status: response.status, checks: Object.fromEntries(body.checks.map((c) => [c.name, c])) };
}

async function expectAlive(node: TestNode): Promise<void> {
  const response = await getPath(node, '/healthz');
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.json, { status: 'alive' });
}

/** Asks again until `predicate` holds (a connection pool notices a returned database on its next connect). */
async function eventually<T>(read: () => Promise<T>, predicate: (value: T) => boolean, what: string): Promise<T> {
  let last: T;
  for (let attempt = 0; attempt < 50; attempt++) {
    last = await read();
    if (predicate(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${what}: ${JSON.stringify(last!)}`);
}

describe('/readyz on a Shamir node: not ready while sealed, ready once unsealed', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ shamir: { shares: 3, threshold: 2 } });
  });
  after(() => node.close());

  it('101: /healthz answers 200 while sealed; /readyz 503 with the unsealed and root checks failing, then 200 after unseal', async () => {
    await expectAlive(node);
    const sealed = await readyz(node);
    assert.equal(sealed.status, 503);
    assert.equal(sealed.checks.unsealed!.ok, false);
    assert.match(sealed.checks.unsealed!.detail, /^sealed: 0 of 2 shares entered/);
    assert.equal(sealed.checks.root_of_trust!.ok, false);
    assert.equal(sealed.checks.database!.ok, true);
    assert.equal(sealed.checks.audit!.ok, true);
    let { samples } = await scrape(node, node.adminToken);
    assert.deepEqual(
      find(samples, 'keyhold_sealed').map((s) => s.value),
      [1],
    );
    assert.deepEqual(
      find(samples, 'keyhold_xks_external_key_manager_states', { state: 'UNAVAILABLE' }).map((s) => s.value),
      [1],
    );

    assert.equal((await admin(node, 'POST', '/unseal', { share: node.shares![0] })).status, 200);
    assert.equal((await readyz(node)).status, 503, 'one share of two is not enough');
    const unsealing = await admin(node, 'POST', '/unseal', { share: node.shares![1] });
    assert.equal(unsealing.status, 200, unsealing.text);
    assert.equal((unsealing.json as { sealed: boolean }).sealed, false);

    const ready = await readyz(node);
    assert.equal(ready.status, 200, JSON.stringify(ready.checks));
    assert.ok(Object.values(ready.checks).every((c) => c.ok));
    await expectAlive(node);
    ({ samples } = await scrape(node, node.adminToken));
    assert.deepEqual(
      find(samples, 'keyhold_sealed').map((s) => s.value),
      [0],
    );
    assert.deepEqual(
      find(samples, 'keyhold_xks_external_key_manager_states', { state: 'ACTIVE' }).map((s) => s.value),
      [1],
    );
    const text = JSON.stringify(ready.checks);
    for (const share of node.shares!) assert.ok(!text.includes(share));
  });
});

describe('/readyz on a PostgreSQL node: not ready while the database is away', () => {
  let database: ScratchDatabase;
  let failClosedDatabase: ScratchDatabase;
  let node: TestNode;
  let failClosed: TestNode;
  /** What before() set up, undone in reverse order (also when it failed half-way). */
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    database = await createScratchDatabase();
    cleanups.push(() => database.drop());
    failClosedDatabase = await createScratchDatabase();
    cleanups.push(() => failClosedDatabase.drop());
    node = await startTestNode({ databaseUrl: database.url });
    cleanups.push(() => node.close());
    failClosed = await startTestNode({ databaseUrl: failClosedDatabase.url, audit: { mode: 'fail-closed' } });
    cleanups.push(() => failClosed.close());
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('503 during an outage (database check), 200 again after; /healthz 200 throughout; ?exclude=database for durable audit', async () => {
    assert.equal((await readyz(node)).status, 200);
    assert.equal((await readyz(failClosed)).status, 200);
    const outages = [databaseOutage(database.url), databaseOutage(failClosedDatabase.url)];
    for (const outage of outages) await outage.begin();
    try {
      const down = await readyz(node);
      assert.equal(down.status, 503);
      assert.equal(down.checks.database!.ok, false);
      assert.match(down.checks.database!.detail, /^(unreachable|no answer within)/);
      assert.ok(!down.checks.database!.detail.includes(database.url), 'no connection string in the answer');
      assert.equal(down.checks.unsealed!.ok, true);
      // Durable audit spools locally, so the node still answers KMS: excluding the database check says so.
      assert.equal(down.checks.audit!.ok, true);
      assert.equal((await readyz(node, '?exclude=database')).status, 200);
      // Fail-closed audit cannot record anything without the database: not ready even with the check excluded.
      const closed = await readyz(failClosed, '?exclude=database');
      assert.equal(closed.status, 503);
      assert.equal(closed.checks.audit!.ok, false);
      await expectAlive(node);
      // The data plane keeps serving keys it holds (docs/architecture.md#database-outage).
      assert.equal((await xks(node, { operation: 'health', body: healthBody() })).status, 200);
    } finally {
      for (const outage of outages) await outage.end();
    }
    await eventually(
      () => readyz(node),
      (r) => r.status === 200,
      'ready again after the outage',
    );
    await eventually(
      () => readyz(failClosed),
      (r) => r.status === 200,
      'fail-closed node ready again',
    );
    await expectAlive(node);
  });

  it('an unknown check name in exclude is refused in one line', async () => {
    const response = await getPath(node, '/readyz?exclude=database,nonsense');
    assert.equal(response.status, 400);
    assert.equal(
      (response.json as { error: string }).error,
      'unknown readiness check "nonsense"; checks are unsealed, root_of_trust, database, audit, propagation',
    );
  });
});
