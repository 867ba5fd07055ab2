/**
 * Changes made on one node of a fleet reach the others within 1 s, without a scheduler pass
 * (docs/fleet.md#propagation): three real nodes on one PostgreSQL database, each change made on the
 * first and observed through the XKS answers (or admin answers) of the second and third. Then the
 * LISTEN connection of one node is cut (pg_terminate_backend): it says so, still catches up by polling,
 * and listens again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { bodyOf, type CreatedToken } from '../helpers/admin-json.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { field, text } from '../helpers/json-fields.js';
import { find, getPath, scrape } from '../helpers/metrics.js';
import type { TestNode } from '../helpers/node-harness.js';
import { admin, adminAs, encryptBody, healthBody, xks } from '../helpers/xks-client.js';

/** Propagation must be done within this long (the bound). */
const WITHIN_MS = 1_000;

/** Polls `check` until it holds; fails when it still does not after WITHIN_MS. Returns how long it took. */
async function within(what: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > WITHIN_MS) assert.fail(`${what}: not seen within ${WITHIN_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const encryptAnswer = async (node: TestNode) => {
  const response = await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(8)) });
  return response.status === 200 ? 'ok' : field(response.json, 'errorName');
};

/** The key version an Encrypt's ciphertext metadata names (format byte, then the version). */
const encryptVersion = async (node: TestNode) => {
  const response = await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(8)) });
  return Buffer.from(text(response.json, 'ciphertextMetadata'), 'base64').readUInt32BE(1);
};

describe('changes reach every node of a three-node fleet within 1 s (PostgreSQL LISTEN/NOTIFY and the change sequence)', () => {
  let fleet: Fleet | undefined;
  const nodes = () => fleet?.nodes ?? assert.fail('the fleet did not start');
  const first = () => nodes()[0] ?? assert.fail('no first node');
  const others = () => nodes().slice(1);
  /** Waits until every other node answers Encrypt with `expected` (`ok` or an errorName). */
  const othersAnswer = async (what: string, expected: string) => {
    for (const node of others())
      await within(`${what} on ${node.node.nodeId.slice(0, 8)}`, async () => (await encryptAnswer(node)) === expected);
  };

  before(async () => {
    // A long safety poll: what arrives within 1 s here arrived by notification.
    fleet = await startFleet(3, { propagation: { safetyPollMs: 60_000, fastPollMs: 250, listenerRetryMs: 200 } });
    for (const node of nodes()) assert.equal(await encryptAnswer(node), 'ok');
  });

  after(() => fleet?.close());

  it('the node-wide kill switch: InvalidStateException on the others, and released the same way', async () => {
    assert.equal((await admin(first(), 'PUT', '/node/kill-switch', { on: true, reason: 'drill' })).status, 200);
    await othersAnswer('kill switch on', 'InvalidStateException');
    assert.equal((await admin(first(), 'PUT', '/node/kill-switch', { on: false })).status, 200);
    await othersAnswer('kill switch off', 'ok');
  });

  it('a disabled key, then a blocked key: InvalidStateException on the others', async () => {
    assert.equal((await admin(first(), 'POST', `/keys/${first().keyId}/disable`)).status, 200);
    await othersAnswer('key disabled', 'InvalidStateException');
    assert.equal((await admin(first(), 'POST', `/keys/${first().keyId}/enable`)).status, 200);
    await othersAnswer('key enabled', 'ok');
    assert.equal((await admin(first(), 'POST', `/keys/${first().keyId}/block`, { reason: 'r' })).status, 200);
    await othersAnswer('key blocked', 'InvalidStateException');
    assert.equal((await admin(first(), 'POST', `/keys/${first().keyId}/unblock`)).status, 200);
    await othersAnswer('key unblocked', 'ok');
  });

  it('a rotation: the others encrypt with the new version', async () => {
    assert.equal((await admin(first(), 'POST', `/keys/${first().keyId}/rotate`)).status, 200);
    for (const node of others()) await within('rotation', async () => (await encryptVersion(node)) === 2);
  });

  it('a disabled keystore, then a blocked one: refused on the others', async () => {
    assert.equal((await admin(first(), 'POST', '/keystores/demo/disable')).status, 200);
    const disabled = String(await encryptAnswer(first()));
    assert.notEqual(disabled, 'ok');
    await othersAnswer('keystore disabled', disabled);
    assert.equal((await admin(first(), 'POST', '/keystores/demo/enable')).status, 200);
    await othersAnswer('keystore enabled', 'ok');
    assert.equal((await admin(first(), 'POST', '/keystores/demo/block', { reason: 'r' })).status, 200);
    await othersAnswer('keystore blocked', 'InvalidStateException');
    assert.equal((await admin(first(), 'POST', '/keystores/demo/unblock')).status, 200);
    await othersAnswer('keystore unblocked', 'ok');
  });

  it('87: a credential added on one node authenticates on the others, and is refused once removed', async () => {
    const added = await admin(first(), 'POST', '/keystores/demo/credentials', {});
    assert.equal(added.status, 201, added.text);
    const credential = added.json as { accessKeyId: string; secret: string };
    const health = async (node: TestNode) => (await xks(node, { operation: 'health', body: healthBody(), credential })).status;
    for (const node of others()) await within('new credential', async () => (await health(node)) === 200);
    assert.equal((await admin(first(), 'DELETE', `/keystores/demo/credentials/${credential.accessKeyId}`)).status, 204);
    for (const node of others()) await within('removed credential', async () => (await health(node)) === 401);
  });

  it('a keystore quota: the others throttle to it', async () => {
    assert.equal((await admin(first(), 'PUT', '/keystores/demo/quota', { rps: 1, burst: 1 })).status, 200);
    for (const node of others())
      await within('quota set', async () => {
        const answers = [await encryptAnswer(node), await encryptAnswer(node)];
        return answers.includes('ThrottlingException');
      });
    assert.equal((await admin(first(), 'DELETE', '/keystores/demo/quota')).status, 200);
    for (const node of others())
      await within('quota removed', async () => {
        const answers = [await encryptAnswer(node), await encryptAnswer(node), await encryptAnswer(node)];
        return answers.every((answer) => answer === 'ok');
      });
  });

  it('a policy created and attached on one node denies on the others, and stops once deleted', async () => {
    const denyAll = { name: 'fleet-deny', attach: { keystore: 'demo' }, rules: [{ effect: 'deny', principal: ['*'] }] };
    assert.equal((await admin(first(), 'POST', '/policies', denyAll)).status, 201);
    await othersAnswer('policy attached', 'AccessDeniedException');
    assert.equal((await admin(first(), 'DELETE', '/policies/fleet-deny')).status, 204);
    await othersAnswer('policy deleted', 'ok');
  });

  it('a token revoked on one node is refused by the admin API of the others', async () => {
    const created = bodyOf<CreatedToken>(await admin(first(), 'POST', '/tokens', { name: 'fleet', role: 'auditor' }), 201);
    for (const node of nodes()) assert.equal((await adminAs(node, created.token, 'GET', '/audit/status')).status, 200);
    assert.equal((await admin(first(), 'DELETE', `/tokens/${created.id}`)).status, 200);
    for (const node of others())
      await within('token revoked', async () => (await adminAs(node, created.token, 'GET', '/audit/status')).status === 401);
  });

  it('the LISTEN connection cut: the node says so (readyz, metrics), catches up by polling, and listens again', async () => {
    const [, second] = nodes();
    assert.ok(second && fleet);
    assert.equal(second.node.propagation.status().listening, true);
    const client = new pg.Client({ connectionString: fleet.database.url });
    await client.connect();
    try {
      // The listener is the only connection of this database in LISTEN on keyhold_changes; cut every node's.
      const cut = await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`,
      );
      assert.equal(cut.rowCount, 3, 'each node had one LISTEN connection');
    } finally {
      await client.end();
    }
    await within('listener reported down', () => Promise.resolve(!second.node.propagation.status().listening));
    const ready = await getPath(second, '/readyz');
    const detail = (JSON.parse(ready.text) as { checks: { name: string; detail: string }[] }).checks.find(
      (c) => c.name === 'propagation',
    )?.detail;
    assert.match(detail ?? '', /listener down: polling the change sequence every 250 ms/);
    const listenerUp = () =>
      scrape(second, second.adminToken).then(({ samples }) => find(samples, 'keyhold_fleet_change_listener_up')[0]?.value);
    assert.equal(await listenerUp(), 0);
    // Changes still arrive, by polling the sequence, within 1 s.
    assert.equal((await admin(first(), 'PUT', '/node/kill-switch', { on: true, reason: 'listener cut' })).status, 200);
    await within('kill switch on, listener down', async () => (await encryptAnswer(second)) === 'InvalidStateException');
    assert.equal((await admin(first(), 'PUT', '/node/kill-switch', { on: false })).status, 200);
    await within('kill switch off, listener down', async () => (await encryptAnswer(second)) === 'ok');
    // And the listener comes back on its own.
    await within('listener back', () => Promise.resolve(second.node.propagation.status().listening));
    assert.equal(await listenerUp(), 1);
  });
});
