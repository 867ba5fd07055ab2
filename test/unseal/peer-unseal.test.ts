/**
 * Peer unseal in a 2-of-3 Shamir fleet (docs/fleet.md#unseal): real nodes on one scratch PostgreSQL
 * database, real mutual TLS under a fleet CA made by the test PKI. Node A is unsealed by custodians' shares;
 * node B, started with peer unseal, unseals from A within a few seconds and decrypts A's ciphertext. A node
 * whose certificate another CA issued stays sealed and A logs and audits the refusal; with peer unseal off
 * on A nothing unseals B; and a peer that answers with another fleet's master key is refused by B.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { discardAdminEvents } from '../../src/audit/admin-events.js';
import { systemClock } from '../../src/core/clock.js';
import { createFleetStore } from '../../src/fleet/sql-fleet-store.js';
import { createSealableRoot, createVerifier } from '../../src/roots/shamir/sealable-root.js';
import { combineShares, decodeShare, splitSecret } from '../../src/roots/shamir/shares.js';
import { startPeerUnseal, type PeerUnsealSettings } from '../../src/server/peer-unseal.js';
import { createUnsealService } from '../../src/unseal/service.js';
import { copyDataDir, startPeerNode } from '../helpers/fleet.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';
import { createTestCa, type IssuedCertificate, type TestCa } from '../helpers/test-pki.js';
import { admin, decryptBody, encryptBody, xks } from '../helpers/xks-client.js';

const HEARTBEAT_MS = 300;
const RETRY_MS = 300;
/** How long a node that must stay sealed is watched. */
const STAYS_SEALED_MS = 3_000;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function settings(ca: TestCa, certificate: IssuedCertificate, commonNamePattern = '*.fleet.test'): PeerUnsealSettings {
  return { caPem: ca.certPem, ...certificate, commonNamePattern, host: '127.0.0.1', port: 0, retryMs: RETRY_MS };
}

async function unsealedWithin(node: TestNode, ms: number): Promise<number> {
  const started = performance.now();
  while (!node.node.unseal.serving()) {
    if (performance.now() - started > ms) assert.fail(`not unsealed within ${ms} ms`);
    await delay(50);
  }
  return performance.now() - started;
}

async function staysSealed(node: TestNode): Promise<void> {
  const until = performance.now() + STAYS_SEALED_MS;
  while (performance.now() < until) {
    assert.equal(node.node.unseal.serving(), false, 'the node unsealed');
    await delay(100);
  }
}

async function auditActions(
  url: string,
): Promise<{ chain_id: string; action: string; outcome: string; detail: string | null; target: string | null }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{
      chain_id: string;
      action: string;
      outcome: string;
      detail: string | null;
      target: string | null;
    }>(`SELECT chain_id, action, outcome, detail, target FROM audit_events WHERE action LIKE 'node.peer_unseal.%' ORDER BY time`);
    return rows;
  } finally {
    await client.end();
  }
}

/** A node started sealed from a copy of A's data directory, on A's database, with the given peer-unseal settings. */
async function startSealedPeer(a: TestNode, database: ScratchDatabase, peerUnseal: PeerUnsealSettings | undefined, dirs: string[]) {
  const dir = copyDataDir(a);
  dirs.push(dir);
  const node = await startPeerNode(a, dir, { databaseUrl: database.url, heartbeatIntervalMs: HEARTBEAT_MS, peerUnseal });
  assert.equal(node.node.unseal.serving(), false, 'a Shamir node starts sealed');
  return node;
}

async function unsealByShares(node: TestNode): Promise<void> {
  const shares = node.shares ?? assert.fail('not a Shamir node');
  for (const share of shares.slice(0, 2)) assert.equal((await admin(node, 'POST', '/unseal', { share })).status, 200);
  assert.equal(node.node.unseal.serving(), true);
}

describe('peer unseal in a 2-of-3 Shamir fleet, A opted in', { timeout: 60_000 }, () => {
  let database: ScratchDatabase | undefined;
  let fleetCa: TestCa | undefined;
  let a: TestNode | undefined;
  const started: TestNode[] = [];
  const dirs: string[] = [];

  before(async () => {
    database = await createScratchDatabase();
    fleetCa = await createTestCa('Keyhold fleet CA');
    a = await startTestNode({
      databaseUrl: database.url,
      shamir: { shares: 3, threshold: 2 },
      heartbeatIntervalMs: HEARTBEAT_MS,
      peerUnseal: settings(fleetCa, await fleetCa.issue('node-a.fleet.test', { fleetPeer: true })),
    });
    await unsealByShares(a);
  });

  after(async () => {
    for (const node of started.reverse()) await node.close().catch(() => undefined);
    await a?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  });

  it('B, started with peer unseal and a fleet certificate, unseals within a few seconds and decrypts what A encrypted', async () => {
    const [nodeA, ca, db] = [a ?? assert.fail(), fleetCa ?? assert.fail(), database ?? assert.fail()];
    const b = await startSealedPeer(nodeA, db, settings(ca, await ca.issue('node-b.fleet.test', { fleetPeer: true })), dirs);
    started.push(b);
    await unsealedWithin(b, 5_000);

    const plaintext = randomBytes(32);
    const encrypted = await xks(nodeA, { operation: 'encrypt', body: encryptBody(plaintext) });
    assert.equal(encrypted.status, 200, encrypted.text);
    const decrypted = await xks(b, { operation: 'decrypt', body: decryptBody(encrypted.json as Record<string, string>) });
    assert.equal(decrypted.status, 200, decrypted.text);
    assert.equal((decrypted.json as { plaintext: string }).plaintext, plaintext.toString('base64'));

    // Both sides audited it, with node ids; neither the audit rows nor the logs hold the master key.
    const rows = await auditActions(db.url);
    const granted = rows.find((row) => row.action === 'node.peer_unseal.granted');
    const received = rows.find((row) => row.action === 'node.peer_unseal.received');
    assert.ok(granted && received, JSON.stringify(rows));
    assert.ok(granted.target?.includes(b.node.nodeId) && granted.target.includes('node-b.fleet.test'), `granted: ${granted.target}`);
    assert.ok(received.target?.includes(nodeA.node.nodeId), `received: ${received.target}`);
    const shares = (nodeA.shares ?? []).slice(0, 2).map((share) => decodeShare(share, 32).bytes);
    const masterKey = await combineShares(shares);
    const everything = JSON.stringify(rows) + nodeA.logText() + b.logText();
    for (const encoding of ['base64', 'hex', 'base64url'] as const)
      assert.ok(!everything.includes(masterKey.toString(encoding)), `the master key (${encoding}) in an audit row or a log line`);
  });

  it('a node whose certificate another CA issued stays sealed; A logs and audits the refusal', async () => {
    const [nodeA, ca, db] = [a ?? assert.fail(), fleetCa ?? assert.fail(), database ?? assert.fail()];
    const foreign = await createTestCa('Not the fleet CA');
    // It trusts the fleet CA (that certificate is public) but holds no certificate the fleet CA signed.
    const intruder = await startSealedPeer(
      nodeA,
      db,
      { ...settings(ca, await foreign.issue('node-x.fleet.test', { fleetPeer: true })) },
      dirs,
    );
    started.push(intruder);
    await staysSealed(intruder);
    const refusal = nodeA.logs.find((line) => line.event === 'peer_unseal.refused');
    assert.ok(refusal, 'A logged no refusal');
    assert.equal(refusal.reason, 'untrusted');
    const rows = await auditActions(db.url);
    assert.ok(
      rows.some((row) => row.action === 'node.peer_unseal.refused' && row.outcome === 'denied'),
      'no refusal audited',
    );
    assert.ok(
      !rows.some((row) => row.action === 'node.peer_unseal.received' && row.target?.includes(intruder.node.nodeId)),
      'the intruder received the root',
    );
  });

  it('a fleet certificate whose CN the pattern does not accept is refused too', async () => {
    const [nodeA, ca, db] = [a ?? assert.fail(), fleetCa ?? assert.fail(), database ?? assert.fail()];
    const stranger = await startSealedPeer(nodeA, db, settings(ca, await ca.issue('laptop.example.com', { fleetPeer: true })), dirs);
    started.push(stranger);
    await staysSealed(stranger);
    assert.ok(
      nodeA.logs.some((line) => line.event === 'peer_unseal.refused' && line.reason === 'wrong_subject'),
      'A logged no wrong_subject refusal',
    );
  });
});

describe('peer unseal off on the unsealed node, and a peer that answers with another master key', { timeout: 60_000 }, () => {
  let database: ScratchDatabase | undefined;
  let a: TestNode | undefined;
  const started: TestNode[] = [];
  const dirs: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    database = await createScratchDatabase();
    a = await startTestNode({ databaseUrl: database.url, shamir: { shares: 3, threshold: 2 }, heartbeatIntervalMs: HEARTBEAT_MS });
    await unsealByShares(a);
  });

  after(async () => {
    for (const stop of stops) await stop().catch(() => undefined);
    for (const node of started.reverse()) await node.close().catch(() => undefined);
    await a?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  });

  it('B opted in stays sealed when A is not', async () => {
    const [nodeA, db] = [a ?? assert.fail(), database ?? assert.fail()];
    const ca = await createTestCa('Keyhold fleet CA');
    const b = await startSealedPeer(nodeA, db, settings(ca, await ca.issue('node-b.fleet.test', { fleetPeer: true })), dirs);
    started.push(b);
    await staysSealed(b);
    assert.equal(nodeA.node.peerUnsealUrl, undefined);
  });

  it('B refuses a root that does not open its verifier (a peer with another master key), logs and audits it, stays sealed', async () => {
    const [nodeA, db] = [a ?? assert.fail(), database ?? assert.fail()];
    const ca = await createTestCa('Keyhold fleet CA');
    // A real granter over a real, unsealed Shamir root of another fleet, holding a valid fleet certificate,
    // announced in the fleet table as a live unsealed node (what one who can write the database could do).
    const otherMaster = randomBytes(32);
    const { shareSet, shares } = await splitSecret(otherMaster, 3, 2);
    const otherRoot = createSealableRoot({
      kind: 'shamir',
      shares: 3,
      threshold: 2,
      shareSet,
      verifier: await createVerifier(otherMaster),
    });
    for (const share of shares.slice(0, 2)) await otherRoot.enterShare(share);
    const impostorId = randomUUID();
    const impostor = await startPeerUnseal({
      settings: settings(ca, await ca.issue('node-z.fleet.test', { fleetPeer: true })),
      nodeId: impostorId,
      root: otherRoot,
      unseal: createUnsealService({ root: otherRoot, onUnsealed: () => Promise.resolve() }),
      peers: () => [],
      events: discardAdminEvents,
      logger: pino({ level: 'silent' }),
    });
    stops.push(() => impostor.stop());
    const fleetStore = createFleetStore(nodeA.node.services.database);
    const announce = () =>
      fleetStore.heartbeat({
        id: impostorId,
        hostname: 'impostor',
        startedAt: Date.now(),
        lastSeenAt: systemClock.now(),
        report: {
          sealed: false,
          rootOfTrust: { kind: 'shamir', state: 'ACTIVE' },
          ekm: { id: 'keyhold-impostor', model: 'x', healthStatus: 'ACTIVE' },
          audit: { queued: 0, spooled: 0 },
          propagation: { mode: 'listen', listening: true, appliedId: 0 },
          requestsPerSecond: 0,
          peerUnsealUrl: impostor.url,
        },
      });
    await announce();
    const beating = setInterval(() => void announce().catch(() => undefined), 200);
    stops.push(() => Promise.resolve(clearInterval(beating)));

    const b = await startSealedPeer(nodeA, db, settings(ca, await ca.issue('node-b2.fleet.test', { fleetPeer: true })), dirs);
    started.push(b);
    await staysSealed(b);
    clearInterval(beating);
    assert.ok(
      b.logs.some((line) => line.event === 'peer_unseal.refused' && line.granter === impostorId && line.level === 50),
      'B logged no refusal of the wrong root',
    );
    const rows = await auditActions(db.url);
    assert.ok(
      rows.some(
        (row) => row.action === 'node.peer_unseal.refused' && row.target?.includes(impostorId) && row.target.includes(b.node.nodeId),
      ),
    );
  });
});
