/**
 * Throttling as KMS sees it (docs/throttling.md): per-keystore quotas, the node's limit on requests in
 * flight, and queue-time shedding, each answering 429 ThrottlingException with the spec's body, logged
 * and audited with the reason. Real nodes, real SigV4 signers; time for quotas and queue time comes from
 * a manual monotonic source the test advances.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as nodeHttpsRequest } from 'node:https';
import { before, describe, it } from 'node:test';
import type { DataKey } from '../../src/roots/root-of-trust.js';
import { scrape, valueOf } from '../helpers/metrics.js';
import type { TestNode } from '../helpers/node-harness.js';
import { lockTable } from '../helpers/postgres.js';
import { httpsRequest, keepAliveAgent, parseJson, sendHttps, type RawResponse } from '../helpers/raw-http.js';
import { signKmsStyle } from '../helpers/signers.js';
import { errorOf, expectError, jsonKeys, type Answer } from '../helpers/xks-answers.js';
import { admin, adminError, adminOk, encryptBody, healthBody, metadata, xks, xksPath } from '../helpers/xks-client.js';
import { restartTestNode, useTestNode } from '../helpers/xks-suite.js';

/** Monotonic milliseconds the test sets; `nextRead()` resolves the next time the node reads it. */
function manualTime() {
  let now = 1_000_000;
  let waiting: (() => void)[] = [];
  return {
    now: () => {
      const resolve = waiting;
      waiting = [];
      for (const r of resolve) r();
      return now;
    },
    advance: (ms: number) => void (now += ms),
    nextRead: () => new Promise<void>((resolve) => waiting.push(resolve)),
  };
}

function assertThrottled(response: Answer & { headers: RawResponse['headers'] }, reason?: RegExp): void {
  const { errorMessage = '' } = expectError(response, 429, 'ThrottlingException');
  assert.equal(response.headers['content-type'], 'application/json');
  assert.deepEqual(jsonKeys(response).sort(), ['errorMessage', 'errorName']);
  assert.match(errorMessage, /^[\x20-\x7e]{1,511}$/);
  if (reason) assert.doesNotMatch(errorMessage, reason, 'the reason stays in the log, not in the answer');
}

const health = (node: TestNode, credential = node.credential, prefix = node.prefix) =>
  xks(node, { path: `${prefix}/kms/xks/v1/health`, body: healthBody(), credential });

interface Credential {
  accessKeyId: string;
  secret: string;
}

interface Quota {
  rps: number;
  burst: number;
}

/** The fields of an audit event these tests read. */
interface AuditEvent {
  errorName?: string;
  status?: number;
  detail?: string;
  outcome?: string;
}

const auditEvents = async (node: TestNode, query: string) =>
  (await adminOk<{ events: AuditEvent[] }>(node, 'GET', `/audit/events?${query}`)).events;

function throttleLogs(node: TestNode) {
  return node.logs.filter((l) => l.event === 'xks.request' && l.errorName === 'ThrottlingException');
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`keystore quotas on ${dialect}`, () => {
    const time = manualTime();
    const suiteNode = useTestNode({ postgres: dialect === 'postgres', throttle: { now: time.now } });
    let node: TestNode;
    let other: Credential;
    before(async () => {
      node = suiteNode();
      const created = await adminOk<{ credential: Credential }>(node, 'POST', '/keystores', {
        name: 'other',
        prefix: '/other',
        region: node.region,
      });
      other = created.credential;
    });

    it('15: a quota of 1/s with burst 2 admits two requests and answers the third 429 ThrottlingException; another keystore is unaffected', async () => {
      const view = await adminOk<{ quota?: Quota }>(node, 'PUT', '/keystores/demo/quota', { rps: 1, burst: 2 });
      assert.deepEqual(view.quota, { rps: 1, burst: 2 });
      assert.equal((await health(node)).status, 200);
      assert.equal((await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(16)) })).status, 200);
      const third = await xks(node, { operation: 'metadata', body: { requestMetadata: metadata('DescribeKey') } });
      assertThrottled(third, /quota/);
      for (let i = 0; i < 5; i++) assert.equal((await health(node, other, '/other')).status, 200, 'keystore "other" has no quota');

      const logged = throttleLogs(node).at(-1)!;
      assert.equal(logged.keystore, 'demo');
      assert.equal(logged.status, 429);
      assert.match(String(logged.reason), /^quota: keystore request quota exceeded \(1\/s, burst 2\)$/);
      const event = (await auditEvents(node, 'keystore=demo&outcome=error&limit=10')).find((e) => e.errorName === 'ThrottlingException');
      assert.ok(event, 'the throttled request is in the audit log');
      assert.equal(event.status, 429);
      assert.match(event.detail ?? '', /^quota: /);
      const { samples } = await scrape(node, node.adminToken);
      assert.equal(
        valueOf(samples, 'keyhold_xks_proxy_throttles_total', { keystore: 'demo', xks_operation: 'GetKeyMetadata', reason: 'quota' }),
        1,
      );
    });

    it('15: the bucket refills with time: one request a second, never more than the burst', async () => {
      time.advance(1_000);
      assert.equal((await health(node)).status, 200);
      assertThrottled(await health(node));
      time.advance(60_000);
      assert.equal((await health(node)).status, 200);
      assert.equal((await health(node)).status, 200);
      assertThrottled(await health(node));
    });

    it('15: requests that fail authentication do not spend the quota', async () => {
      time.advance(60_000);
      for (let i = 0; i < 5; i++) {
        const forged = await health(node, {
          accessKeyId: node.credential.accessKeyId,
          secret: 'd3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw==',
        });
        assert.equal(forged.status, 401, forged.text);
      }
      assert.equal((await health(node)).status, 200);
      assert.equal((await health(node)).status, 200);
    });

    it('15: a quota is kept across a restart, and turning it off removes it at once', async () => {
      time.advance(60_000);
      await restartTestNode(node, { databaseUrl: suiteNode().database?.url, throttle: { now: time.now } });
      assert.deepEqual((await adminOk<{ quota?: Quota }>(node, 'GET', '/keystores/demo')).quota, { rps: 1, burst: 2 });
      assert.equal((await health(node)).status, 200);
      assert.equal((await health(node)).status, 200);
      assertThrottled(await health(node));

      const view = await adminOk<{ quota?: Quota }>(node, 'DELETE', '/keystores/demo/quota');
      assert.equal(view.quota, undefined);
      for (let i = 0; i < 10; i++) assert.equal((await health(node)).status, 200);
    });

    it('refuses bad quotas with a reason and changes nothing', async () => {
      await adminOk(node, 'PUT', '/keystores/other/quota', { rps: 5 });
      assert.deepEqual(
        (await adminOk<{ quota?: Quota }>(node, 'GET', '/keystores/other')).quota,
        { rps: 5, burst: 5 },
        'burst defaults to one second of requests',
      );
      for (const [body, reason] of [
        [{ rps: -1 }, /rps must be a number of requests per second above 0/],
        [{ rps: 0 }, /rps must be/],
        [{ rps: 10, burst: 0 }, /burst must be a whole number/],
        [{ rps: 10, burst: 2.5 }, /burst must be a whole number/],
        [{ rps: 1e9 }, /at most 1000000/],
        [{ rps: 10, extra: 1 }, /must NOT have additional properties/],
      ] as const) {
        const response = await admin(node, 'PUT', '/keystores/other/quota', body);
        assert.equal(response.status, 400, response.text);
        assert.match(adminError(response), reason);
      }
      assert.equal((await admin(node, 'PUT', '/keystores/nope/quota', { rps: 1 })).status, 404);
      assert.deepEqual((await adminOk<{ quota?: Quota }>(node, 'GET', '/keystores/other')).quota, { rps: 5, burst: 5 });
    });
  });
}

/** A raw HTTP/1.1 XKS request whose body is sent in two parts, the second when the test says. */
async function slowBodyRequest(node: TestNode, body: string) {
  const path = xksPath(node, 'health');
  const headers = await signKmsStyle({
    host: node.host,
    path,
    body,
    accessKeyId: node.credential.accessKeyId,
    secret: node.credential.secret,
    region: node.region,
  });
  const request = nodeHttpsRequest({
    host: '127.0.0.1',
    port: node.port,
    path,
    method: 'POST',
    ca: node.ca,
    servername: 'localhost',
    agent: false,
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
  });
  const response = new Promise<Answer>((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, text, json: parseJson(text) });
      });
    });
  });
  const half = Math.floor(body.length / 2);
  request.write(body.slice(0, half));
  return { finish: () => request.end(body.slice(half)), response };
}

describe('the node-wide limits', () => {
  const time = manualTime();
  const suiteNode = useTestNode({ throttle: { maxInFlight: 1, shedAfterMs: 100, now: time.now } });
  let node: TestNode;
  before(() => {
    node = suiteNode();
  });

  it('with --max-in-flight 1, a request while another is working answers 429 at once; after it, requests succeed', async () => {
    // Hold the demo key's encryption (the real key, wrapped) until the test lets it go.
    const demo = node.node.services.live.keystoreByName('demo')!;
    const key = node.node.services.live.key(demo.keystore.groupId, node.keyId)!;
    const version = key.record.currentVersion;
    const real = key.versions.get(version)!;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holding: DataKey = {
      encrypt: async (...args) => {
        entered();
        await held;
        return real.encrypt(...args);
      },
      decrypt: (...args) => real.decrypt(...args),
    };
    key.versions.set(version, holding);
    try {
      const first = xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(16)) });
      await inside;
      const second = await health(node);
      assertThrottled(second, /flight/);
      assert.match(String(throttleLogs(node).at(-1)!.reason), /^concurrency: node limit of 1 requests in flight reached$/);
      release();
      assert.equal((await first).status, 200);
    } finally {
      key.versions.set(version, real);
    }
    assert.equal((await health(node)).status, 200);
    assert.equal((await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(16)) })).status, 200);
  });

  it('a request that waited longer than --shed-after-ms before its work started is shed with 429; a slow body holds its slot no longer than that', async () => {
    const body = JSON.stringify(healthBody());
    const read = time.nextRead();
    const slow = await slowBodyRequest(node, body);
    await read; // admitted: the node stamped its arrival
    // Within its queue-time budget the slow request holds the only slot.
    assertThrottled(await health(node));
    assert.match(String(throttleLogs(node).at(-1)!.reason), /^concurrency: /);
    // Past it, the slot is free for others; the slow request is shed once its body arrives.
    time.advance(101);
    assert.equal((await health(node)).status, 200);
    slow.finish();
    expectError(await slow.response, 429, 'ThrottlingException');
    assert.match(String(throttleLogs(node).at(-1)!.reason), /^queue-time: waited 101 ms before its work started \(limit 100 ms\)$/);

    // Within the budget it is served.
    const admitted = time.nextRead();
    const onTime = await slowBodyRequest(node, JSON.stringify(healthBody()));
    await admitted;
    time.advance(100);
    onTime.finish();
    assert.equal((await onTime.response).status, 200);
    assert.equal((await health(node)).status, 200, 'nothing left holding the slot');
  });
});

describe('overload, bounded, to loopback', () => {
  const suiteNode = useTestNode({ throttle: { maxInFlight: 4 } });

  it('400 Encrypts, 64 at a time against a limit of 4: every answer is 200 or 429 ThrottlingException, and the node serves normally afterwards', async () => {
    const node = suiteNode();
    const agent = keepAliveAgent(node, 64);
    const path = xksPath(node, 'encrypt');
    const one = async () => {
      const body = JSON.stringify(encryptBody(randomBytes(32)));
      const headers = await signKmsStyle({
        host: node.host,
        path,
        body,
        accessKeyId: node.credential.accessKeyId,
        secret: node.credential.secret,
        region: node.region,
      });
      return sendHttps(node, agent, { path, headers, body });
    };
    const counts = new Map<string, number>();
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < 400) {
            next += 1;
            const response = await one();
            const outcome = `${response.status} ${errorOf(response)?.errorName ?? ''}`.trim();
            counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
          }
        }),
      );
    } finally {
      agent.destroy();
    }
    const outcomes = Object.fromEntries(counts);
    assert.deepEqual(
      Object.keys(outcomes).filter((o) => o !== '200' && o !== '429 ThrottlingException'),
      [],
      JSON.stringify(outcomes),
    );
    assert.equal(
      [...counts.values()].reduce((a, b) => a + b, 0),
      400,
    );
    assert.ok((outcomes['200'] ?? 0) > 0, JSON.stringify(outcomes));
    for (let i = 0; i < 5; i++) assert.equal((await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(8)) })).status, 200);
  });
});

describe('overload: the event loop running late', () => {
  // The lag source and the admission's clock are the test's: the gate sees exactly the lag the test sets.
  let lag = 0;
  const time = manualTime();
  const suiteNode = useTestNode({ throttle: { shedOnLagMs: 50, eventLoopLag: { lagMs: () => lag }, now: time.now } });
  let node: TestNode;
  before(() => {
    node = suiteNode();
  });

  it('above --shed-on-lag-ms a share of new requests answers 429 (reason overload); once on time all are served again; logged, audited and counted', async () => {
    assert.equal((await health(node)).status, 200);
    lag = 80;
    assertThrottled(await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(16)) }), /loop/);
    assert.match(
      String(throttleLogs(node).at(-1)!.reason),
      /^overload: event loop 80 ms behind \(limit 50 ms\), admitting 75 % of requests$/,
    );
    lag = 0;
    for (let i = 0; i < 8; i++) {
      time.advance(10);
      assert.equal((await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(16)) })).status, 200);
    }

    const { samples } = await scrape(node, node.adminToken);
    assert.equal(
      valueOf(samples, 'keyhold_xks_proxy_throttles_total', { keystore: 'demo', xks_operation: 'Encrypt', reason: 'overload' }),
      1,
    );
    await node.node.audit.log.flush();
    const details = (await auditEvents(node, 'keystore=demo&outcome=error&limit=10'))
      .filter((e) => e.errorName === 'ThrottlingException')
      .map((e) => e.detail);
    assert.deepEqual(details, ['overload: event loop 80 ms behind (limit 50 ms), admitting 75 % of requests']);
  });
});

describe('a load-shedding 429 does not wait for the audit commit; a quota 429 and a success do', () => {
  let lag = 0;
  const suiteNode = useTestNode({ postgres: true, throttle: { maxInFlight: 1, shedOnLagMs: 50, eventLoopLag: { lagMs: () => lag } } });
  let node: TestNode;
  let databaseUrl: string;
  before(() => {
    node = suiteNode();
    const database = suiteNode().database;
    assert.ok(database);
    databaseUrl = database.url;
  });

  /** Sends a request and notes when it is answered, without waiting for it. */
  function send(body: Record<string, unknown>, operation: 'health' | 'encrypt' = 'health') {
    let answered = false;
    const response = xks(node, { operation, body }).finally(() => {
      answered = true;
    });
    return {
      response,
      get answered() {
        return answered;
      },
    };
  }
  /** The details of the demo keystore's audited throttles (a request refused at admission has no kmsRequestId). */
  async function auditedThrottles(): Promise<(string | undefined)[]> {
    return (await auditEvents(node, 'keystore=demo&outcome=error&limit=100'))
      .filter((e) => e.errorName === 'ThrottlingException')
      .map((e) => e.detail?.split(':')[0]);
  }

  it('while the audit table is locked, a success waits; concurrency and overload 429s are answered at once and audited once it is free', async () => {
    const lock = await lockTable(databaseUrl, 'audit_events');
    let released = false;
    try {
      const successBody = encryptBody(randomBytes(16));
      const success = send(successBody, 'encrypt');
      // Its work is done and its record is being committed (the request's log line waits for the commit).
      await lock.writerWaiting();

      // The success holds the only slot until its record is committed: the next request is refused.
      assertThrottled(await send(healthBody()).response);
      lag = 80;
      assertThrottled(await send(healthBody()).response);
      lag = 0;
      assert.deepEqual(
        throttleLogs(node).map((l) => String(l.reason).split(':')[0]),
        ['concurrency', 'overload'],
      );
      assert.equal(success.answered, false, 'the success is still waiting for its commit');

      await lock.release();
      released = true;
      assert.equal((await success.response).status, 200);
      await node.node.audit.log.flush();
      assert.deepEqual((await auditedThrottles()).sort(), ['concurrency', 'overload']);
      const audited = await auditEvents(node, `kmsRequestId=${successBody.requestMetadata.kmsRequestId}&limit=1`);
      assert.equal(audited[0]?.outcome, 'success');
    } finally {
      if (!released) await lock.release();
    }
  });

  it('15: a quota 429 is a policy decision: its answer waits for its record like a success', async () => {
    await adminOk(node, 'PUT', '/keystores/demo/quota', { rps: 0.001, burst: 1 });
    assert.equal((await health(node)).status, 200, 'spends the one token');
    const lock = await lockTable(databaseUrl, 'audit_events');
    let released = false;
    try {
      const quota = send(healthBody());
      await lock.writerWaiting();
      // A shed would be answered without waiting for its commit; a round trip later the quota refusal still waits.
      const ping = await httpsRequest({
        host: '127.0.0.1',
        port: node.port,
        path: '/ping',
        method: 'GET',
        ca: node.ca,
        servername: 'localhost',
        agent: false,
      });
      assert.equal(ping.status, 200);
      assert.equal(quota.answered, false, 'the quota refusal waits for its commit');
      await lock.release();
      released = true;
      assertThrottled(await quota.response);
      await node.node.audit.log.flush();
      assert.deepEqual((await auditedThrottles()).sort(), ['concurrency', 'overload', 'quota']);
    } finally {
      if (!released) await lock.release();
      await adminOk(node, 'DELETE', '/keystores/demo/quota');
    }
  });
});
