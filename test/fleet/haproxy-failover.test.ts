/**
 * The failover drill in small (docs/fleet.md#drills, bench/fleet-drill.ts for the full one): three real
 * `keyhold serve` processes on one scratch PostgreSQL database behind a real HAProxy (TCP mode, TLS passed
 * through, health checks on /ping: docs/requirements.md item 101), signed XKS Encrypt traffic through it,
 * one node SIGKILLed mid-traffic. KMS retries a failed request once, so: no request may still fail after
 * one retry, every 200 has its audit event, and a kill switch thrown through one node's admin API shows in
 * the answers through HAProxy within 1 s.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startHaproxy, waitForPing } from '../../bench/haproxy.js';
import { systemClock } from '../../src/core/clock.js';
import { isJsonObject } from '../../src/core/json.js';
import { initDataDir } from '../../src/server/init.js';
import { adminCall, httpsCall } from '../cli/node-calls.js';
import { delay, freePort, tempDir, track, removeTempDirs } from '../cli/processes.js';
import { startServe, type ServedNode } from '../cli/served-node.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';
import { signKmsStyle } from '../helpers/signers.js';

/** KMS's retry: a request that failed (or timed out) is sent once more. */
const CLIENT_TIMEOUT_MS = 2_000;
/** Requests in flight at any time (each on its own connection, so HAProxy spreads them over the nodes). */
const CONCURRENCY = 6;
/** Changes must show through the load balancer within this long (the bound). */
const WITHIN_MS = 1_000;

interface Target {
  front: number;
  ca: Buffer;
  path: string;
  credential: { accessKeyId: string; secret: string };
  region: string;
}

/** One signed Encrypt through HAProxy on a fresh connection; resolves its status (0: no answer) and errorName. */
async function encrypt(target: Target, kmsRequestId: string = randomUUID()): Promise<{ status: number; errorName?: string }> {
  const host = `localhost:${target.front}`;
  const body = JSON.stringify({
    requestMetadata: {
      awsPrincipalArn: 'arn:aws:iam::111122223333:role/failover',
      kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/failover',
      kmsOperation: 'Encrypt',
      kmsRequestId,
    },
    plaintext: randomBytes(32).toString('base64'),
    encryptionAlgorithm: 'AES_GCM',
  });
  const headers = await signKmsStyle({ host, path: target.path, body, ...target.credential, region: target.region });
  try {
    const answer = await httpsCall(`https://${host}${target.path}`, {
      method: 'POST',
      ca: target.ca,
      headers,
      body,
      timeoutMs: CLIENT_TIMEOUT_MS,
    });
    const errorName = isJsonObject(answer.json) && typeof answer.json.errorName === 'string' ? answer.json.errorName : undefined;
    return { status: answer.status, errorName };
  } catch {
    return { status: 0 };
  }
}

describe('three `keyhold serve` nodes behind a real HAProxy: one SIGKILLed mid-traffic', { timeout: 60_000 }, () => {
  let database: ScratchDatabase | undefined;
  let haproxy: ChildProcess | undefined;
  const nodes: ServedNode[] = [];
  let target: Target | undefined;
  const ready = () => target ?? assert.fail('the fleet did not start');

  before(async () => {
    database = await createScratchDatabase();
    const work = tempDir('haproxy');
    const init = await initDataDir({ dataDir: join(work, 'node1'), databaseUrl: database.url, demo: true, clock: systemClock });
    const demo = init.demo ?? assert.fail('init made no demo keystore');
    for (const name of ['node2', 'node3']) {
      cpSync(join(work, 'node1'), join(work, name), { recursive: true });
      writeFileSync(join(work, name, 'node-id'), `${randomUUID()}\n`);
    }
    // --single-listener: /ping, the admin API and XKS on one port, the one HAProxy checks and forwards to.
    const args = ['--single-listener', '--database-url', database.url, '--log-level', 'warn'];
    nodes.push(...(await Promise.all(['node1', 'node2', 'node3'].map((dataDirArg) => startServe({ cwd: work, dataDirArg, args })))));
    const front = await freePort();
    haproxy = startHaproxy(
      work,
      front,
      nodes.map((n) => n.port),
    );
    track(haproxy);
    const ca = nodes[0]?.ca ?? assert.fail('no node');
    await waitForPing(front, ca, 15_000);
    target = {
      front,
      ca,
      path: `${demo.keystore.uriPath}/keys/${demo.keyId}/encrypt`,
      credential: { accessKeyId: demo.credential.accessKeyId, secret: demo.credential.secret },
      region: demo.keystore.region,
    };
    // Every node in rotation before the traffic starts (HAProxy's checks: rise 2, 500 ms apart).
    await delay(1_200);
  });

  after(async () => {
    haproxy?.kill('SIGTERM');
    await Promise.all(nodes.map((node) => node.stop()));
    await database?.drop();
    removeTempDirs();
  });

  it('requests keep being answered across the kill (0 failures after one retry), and every 200 has its audit event', async (context) => {
    const t = ready();
    const victim = nodes[2] ?? assert.fail('no third node');
    const started = performance.now();
    const KILL_AT_MS = 1_500;
    const STOP_AT_MS = 5_000;
    const answered: string[] = [];
    const firstFailures: { atMs: number; status: number }[] = [];
    const failedAfterRetry: { atMs: number; status: number }[] = [];
    let answeredAfterKill = 0;
    let killedAt: number | undefined;
    const killer = (async () => {
      await delay(KILL_AT_MS);
      victim.child.kill('SIGKILL');
      killedAt = performance.now() - started;
    })();
    const worker = async () => {
      while (performance.now() - started < STOP_AT_MS) {
        const kmsRequestId = randomUUID();
        const atMs = performance.now() - started;
        let answer = await encrypt(t, kmsRequestId);
        if (answer.status !== 200) {
          firstFailures.push({ atMs, status: answer.status });
          // KMS retries with the same request (same kmsRequestId).
          answer = await encrypt(t, kmsRequestId);
          if (answer.status !== 200) failedAfterRetry.push({ atMs, status: answer.status });
        }
        if (answer.status === 200) {
          answered.push(kmsRequestId);
          if (killedAt !== undefined && atMs > killedAt) answeredAfterKill++;
        }
      }
    };
    await Promise.all([killer, ...Array.from({ length: CONCURRENCY }, worker)]);
    const detail = JSON.stringify({ killedAt, firstFailures, failedAfterRetry, answered: answered.length, answeredAfterKill });
    context.diagnostic(detail);

    assert.deepEqual(failedAfterRetry, [], `failed even after one retry: ${detail}`);
    // At most the requests in flight on the killed node, and its connections HAProxy had not yet taken out.
    assert.ok(firstFailures.length <= CONCURRENCY * 2, `too many first-try failures: ${detail}`);
    for (const failure of firstFailures)
      assert.ok(
        killedAt !== undefined && failure.atMs >= killedAt - CLIENT_TIMEOUT_MS && failure.atMs <= killedAt + 2_000,
        `a failure away from the kill: ${detail}`,
      );
    assert.ok(answeredAfterKill >= 20, `the two remaining nodes kept answering: ${detail}`);
    assert.equal(victim.child.signalCode, 'SIGKILL');

    // Every answered 200 is in some node's audit chain (durable mode commits before the answer goes out).
    const client = new pg.Client({ connectionString: database?.url });
    await client.connect();
    try {
      let missing = answered;
      for (let attempt = 0; attempt < 20 && missing.length > 0; attempt++) {
        if (attempt > 0) await delay(250);
        const { rows } = await client.query<{ id: string }>(
          `SELECT DISTINCT kms_request_id AS id FROM audit_events WHERE kind = 'xks' AND status = 200 AND kms_request_id = ANY($1)`,
          [missing],
        );
        const seen = new Set(rows.map((row) => row.id));
        missing = missing.filter((id) => !seen.has(id));
      }
      assert.deepEqual(missing, [], `answered 200 without an audit event (${answered.length} answered)`);
    } finally {
      await client.end();
    }
  });

  it('the kill switch thrown through one node shows in every answer through HAProxy within 1 s, and its release too', async () => {
    const t = ready();
    const first = nodes[0] ?? assert.fail('no node');
    /** Polls batches of fresh connections (spread over the live nodes) until all answer `expected`; fails after WITHIN_MS. */
    const allAnswer = async (expected: string): Promise<void> => {
      const since = performance.now();
      for (;;) {
        const batch = await Promise.all(Array.from({ length: 4 }, () => encrypt(t)));
        if (batch.every((a) => (a.status === 200 ? 'ok' : a.errorName) === expected)) return;
        if (performance.now() - since > WITHIN_MS) assert.fail(`${expected} not answered by every node within ${WITHIN_MS} ms`);
      }
    };
    await allAnswer('ok');
    const on = await adminCall(first, 'PUT', '/node/kill-switch', { on: true, reason: 'haproxy failover test' });
    assert.equal(on.status, 200, on.text);
    await allAnswer('InvalidStateException');
    const off = await adminCall(first, 'PUT', '/node/kill-switch', { on: false });
    assert.equal(off.status, 200, off.text);
    await allAnswer('ok');
  });
});
