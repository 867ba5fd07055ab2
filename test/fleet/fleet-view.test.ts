/**
 * The fleet view and the fleet in GetHealthStatus (docs/fleet.md#fleet-view), on three real nodes on one
 * PostgreSQL database with a short heartbeat: `GET /api/v1/fleet` and `keyhold fleet status` list every
 * node with its report; a stopped node is shown as gone, not dropped; GetHealthStatus counts the live
 * nodes (docs/requirements.md item 64) and lists one `ekmFleetDetails` entry per live node with that
 * node's own state (items 63, 68, 69).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FleetView } from '../../src/fleet/fleet-view.js';
import { createFleetStore } from '../../src/fleet/sql-fleet-store.js';
import { describeRun, keyhold, tempDir } from '../cli/helpers.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import type { TestNode } from '../helpers/node-harness.js';
import { admin, healthBody, xks } from '../helpers/xks-client.js';

const HEARTBEAT_MS = 200;

interface Health {
  xksProxyFleetSize: number;
  ekmFleetDetails: { id: string; model: string; healthStatus: string }[];
}

const fleetOf = async (node: TestNode) => {
  const response = await admin(node, 'GET', '/fleet');
  assert.equal(response.status, 200, response.text);
  return response.json as FleetView;
};
const healthOf = async (node: TestNode) => {
  const response = await xks(node, { operation: 'health', body: healthBody() });
  assert.equal(response.status, 200, response.text);
  return response.json as Health;
};
/** Polls until `check` holds (heartbeats are asynchronous), for at most 5 s. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the fleet view and GetHealthStatus of a three-node fleet', () => {
  let fleet: Fleet | undefined;
  const nodes = () => fleet?.nodes ?? assert.fail('the fleet did not start');
  const node = (i: number) => nodes()[i] ?? assert.fail(`no node ${i}`);

  before(async () => {
    fleet = await startFleet(3, { heartbeatIntervalMs: HEARTBEAT_MS });
  });
  after(() => fleet?.close());

  it('GET /api/v1/fleet: every node, live, with its address, version, seal, root of trust, audit, propagation and requests/s', async () => {
    await eventually('three live nodes with reports', async () => {
      const view = await fleetOf(node(1));
      return view.live === 3 && view.nodes.every((n) => n.propagation?.listening === true);
    });
    const view = await fleetOf(node(1));
    assert.equal(view.gone, 0);
    assert.deepEqual(
      view.nodes.map((n) => n.id).sort(),
      nodes()
        .map((n) => n.node.nodeId)
        .sort(),
    );
    for (const entry of view.nodes) {
      const served = nodes().find((n) => n.node.nodeId === entry.id);
      assert.ok(served);
      assert.equal(entry.address, served.node.url);
      assert.equal(entry.self, served === node(1));
      assert.match(entry.version ?? '', /^\d+\.\d+\.\d+/);
      assert.equal(entry.sealed, false);
      assert.deepEqual(entry.rootOfTrust, { kind: 'software', state: 'ACTIVE' });
      assert.equal(entry.ekmHealth, 'ACTIVE');
      assert.equal(typeof entry.audit?.queued, 'number');
      assert.equal(entry.propagation?.mode, 'listen');
      assert.equal(typeof entry.requestsPerSecond, 'number');
      assert.ok(entry.heartbeatAgeMs < 3 * HEARTBEAT_MS, `heartbeat ${entry.heartbeatAgeMs} ms ago`);
    }
  });

  it('a change is applied by every node: the view shows none behind', async () => {
    assert.equal((await admin(node(0), 'PUT', '/node/kill-switch', { on: false })).status, 200);
    await eventually('no node behind', async () => {
      const view = await fleetOf(node(0));
      return view.latestChangeId > 0 && view.nodes.every((n) => n.propagation?.behind === 0);
    });
  });

  it('64, 68, 69: GetHealthStatus counts the live nodes and lists each with its own root-of-trust state', async () => {
    const health = await healthOf(node(2));
    assert.equal(health.xksProxyFleetSize, 3);
    assert.equal(health.ekmFleetDetails.length, 3);
    assert.equal(new Set(health.ekmFleetDetails.map((d) => d.id)).size, 3);
    assert.deepEqual(
      health.ekmFleetDetails.map((d) => d.healthStatus),
      ['ACTIVE', 'ACTIVE', 'ACTIVE'],
    );
    assert.equal(health.ekmFleetDetails[0]?.id, `keyhold-${node(2).node.nodeId.slice(0, 8)}`, 'the answering node first');
  });

  it('69: a live node whose root of trust is unavailable is listed as UNAVAILABLE by the others', async () => {
    // A fourth node's heartbeat as a sealed node writes it (its report says UNAVAILABLE).
    const store = createFleetStore(node(0).node.services.database);
    const sick = {
      id: 'sick-node-0000',
      hostname: 'sick',
      startedAt: Date.now(),
      lastSeenAt: Date.now(),
      address: 'https://sick.invalid:8443',
      version: '0.0.0',
      report: {
        sealed: true,
        rootOfTrust: { kind: 'shamir', state: 'UNAVAILABLE' as const },
        ekm: { id: 'keyhold-sick-nod', model: 'Keyhold Shamir', healthStatus: 'UNAVAILABLE' as const },
        audit: { queued: 0, spooled: 0 },
        propagation: { mode: 'listen' as const, listening: true, appliedId: 0 },
        requestsPerSecond: 0,
      },
    };
    await store.heartbeat(sick);
    try {
      await eventually('the sick node in health', async () => (await healthOf(node(0))).xksProxyFleetSize === 4);
      const health = await healthOf(node(0));
      assert.equal(health.ekmFleetDetails.find((d) => d.id === 'keyhold-sick-nod')?.healthStatus, 'UNAVAILABLE');
    } finally {
      await store.removeNode(sick.id);
    }
    await eventually('the sick node forgotten', async () => (await healthOf(node(0))).xksProxyFleetSize === 3);
  });

  it('keyhold fleet status: a table of every node, and --json the view', async () => {
    const first = node(0);
    const connection = ['--url', first.url, '--admin-ca', join(first.dataDir, 'tls', 'cert.pem')];
    const cwd = tempDir('fleet');
    const env = { KEYHOLD_ADMIN_TOKEN: first.adminToken };
    const table = await keyhold([...connection, 'fleet', 'status'], { cwd, env });
    assert.equal(table.code, 0, describeRun(table));
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^NODE\s+STATE\s+ADDRESS\s+VERSION\s+STARTED\s+HEARTBEAT\s+SEALED\s+ROOT\s+AUDIT\s+PROPAGATION\s+RPS$/);
    assert.equal(lines.filter((line) => /\blive\b.*software ACTIVE.*listening, 0 behind/.test(line)).length, 3, table.stdout);
    assert.match(lines.at(-1) ?? '', /^3 live, 0 gone/);
    const json = await keyhold([...connection, '--json', 'fleet', 'status'], { cwd, env });
    assert.equal(json.code, 0, describeRun(json));
    assert.equal((JSON.parse(json.stdout) as FleetView).nodes.length, 3);
  });

  it('a stopped node is shown as gone (not dropped) and leaves GetHealthStatus; back once restarted', async () => {
    const stoppedId = node(2).node.nodeId;
    const restartedFleet = fleet ?? assert.fail('no fleet');
    await node(2).close();
    await eventually('the node gone', async () => {
      const view = await fleetOf(node(0));
      return view.nodes.find((n) => n.id === stoppedId)?.state === 'gone';
    });
    const view = await fleetOf(node(0));
    assert.equal(view.live, 2);
    assert.equal(view.gone, 1);
    await eventually('fleet size 2', async () => (await healthOf(node(0))).xksProxyFleetSize === 2);
    assert.equal((await healthOf(node(0))).ekmFleetDetails.length, 2);
    const restarted = await restartedFleet.restart(2);
    assert.equal(restarted.node.nodeId, stoppedId);
    await eventually('the node live again', async () => (await fleetOf(node(0))).nodes.find((n) => n.id === stoppedId)?.state === 'live');
  });
});
