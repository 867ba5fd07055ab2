/**
 * GET /metrics on a real node: requests signed by the independent test signers, then the exposition is
 * scraped and every counter and histogram checked to the exact count.
 */
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { XKS_LATENCY_BUCKETS } from '../../src/metrics/xks-observer.js';
import { find, getPath, scrape, valueOf, type Sample } from '../helpers/metrics.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, decryptBody, encryptBody, healthBody, metadata, xks, type XksResponse } from '../helpers/xks-client.js';

const ERRORS = 'keyhold_xks_proxy_errors_total';
const LATENCY = 'keyhold_xks_proxy_latency_seconds';
const OTHER_PRINCIPAL = 'arn:aws:iam::444455556666:role/intruder';

function expectStatus(response: XksResponse, status: number): XksResponse {
  assert.equal(response.status, status, response.text);
  return response;
}

/** The one-line error of a refused admin-side request. */
const errorOf = (response: XksResponse) => (response.json as { error: string }).error;

const answer = (keystore: string, kms: string, xksOperation: string, exception = 'None') => ({
  keystore,
  kms_operation: kms,
  xks_operation: xksOperation,
  error_type:
    exception === 'None'
      ? 'none'
      : ['InternalException', 'DependencyTimeoutException', 'ThrottlingException'].includes(exception)
        ? 'retryable'
        : 'non_retryable',
  exception_name: exception,
});

describe('GET /metrics', () => {
  let node: TestNode;
  const tokens: Record<string, string> = {};

  before(async () => {
    node = await startTestNode();
    for (const role of ['monitor', 'auditor', 'key-officer']) {
      tokens[role] = (
        expectStatus(await admin(node, 'POST', '/tokens', { name: `metrics ${role}`, role }), 201).json as { token: string }
      ).token;
    }
  });
  after(() => node.close());

  it('needs a token with metrics:read: 401 without one, 403 for key-officer, 200 for monitor, auditor and administrator', async () => {
    const anonymous = await getPath(node, '/metrics');
    assert.equal(anonymous.status, 401);
    assert.match(errorOf(anonymous), /missing or invalid admin token/);
    assert.equal((await getPath(node, '/metrics', 'kh_forged')).status, 401);
    const officer = await getPath(node, '/metrics', tokens['key-officer']);
    assert.equal(officer.status, 403);
    assert.equal(errorOf(officer), 'this needs the metrics:read permission');
    for (const token of [tokens.monitor, tokens.auditor, node.adminToken]) {
      const response = await getPath(node, '/metrics', token);
      assert.equal(response.status, 200, response.text);
      assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.match(response.text, /^# HELP keyhold_xks_proxy_latency_seconds /m);
    }
  });

  it('counts every answer by keystore, operations, error type and exception, exactly (XksProxyErrors, XksProxyLatency)', async () => {
    const before = (await scrape(node, tokens.monitor)).samples;
    const plaintext = randomBytes(32);
    await admin(node, 'POST', '/policies', {
      name: 'no-intruder',
      attach: { keystore: 'demo' },
      rules: [{ id: 'deny-intruder', effect: 'deny', principal: [OTHER_PRINCIPAL] }],
    });

    for (let i = 0; i < 2; i++) expectStatus(await xks(node, { operation: 'health', body: healthBody() }), 200);
    let encrypted: Record<string, string> = {};
    for (let i = 0; i < 3; i++)
      encrypted = expectStatus(await xks(node, { operation: 'encrypt', body: encryptBody(plaintext) }), 200).json as Record<string, string>;
    expectStatus(await xks(node, { operation: 'decrypt', body: decryptBody(encrypted) }), 200);
    expectStatus(await xks(node, { operation: 'metadata', body: { requestMetadata: metadata('CreateKey') } }), 200);
    // A kmsOperation KMS does not send today: answered, and labelled Other.
    expectStatus(
      await xks(node, { operation: 'encrypt', body: { ...encryptBody(plaintext), requestMetadata: metadata('BulkEncrypt') } }),
      200,
    );
    // Authentication failures: a wrong secret, an unknown access key id.
    const wrongSecret = { accessKeyId: node.credential.accessKeyId, secret: randomBytes(32).toString('base64') };
    expectStatus(await xks(node, { operation: 'encrypt', body: encryptBody(plaintext), credential: wrongSecret }), 401);
    expectStatus(
      await xks(node, {
        operation: 'encrypt',
        body: encryptBody(plaintext),
        credential: { accessKeyId: 'AAAAAAAAAAAAAAAAAAAAAAAA', secret: node.credential.secret },
      }),
      401,
    );
    // A policy denial, a key that does not exist, a path no keystore serves.
    expectStatus(
      await xks(node, {
        operation: 'encrypt',
        body: { ...encryptBody(plaintext), requestMetadata: metadata('Encrypt', { awsPrincipalArn: OTHER_PRINCIPAL }) },
      }),
      403,
    );
    expectStatus(await xks(node, { operation: 'metadata', keyId: 'no-such-key', body: { requestMetadata: metadata('CreateKey') } }), 404);
    expectStatus(await xks(node, { path: '/nowhere/kms/xks/v1/health', body: healthBody() }), 404);
    const total = 2 + 3 + 1 + 1 + 1 + 2 + 1 + 1 + 1;

    const { samples, text } = await scrape(node, tokens.monitor);
    const delta = (name: string, labels: Record<string, string>) => valueOf(samples, name, labels) - valueOf(before, name, labels);
    const expected: [Record<string, string>, number][] = [
      [answer('demo', 'KmsHealthCheck', 'GetHealthStatus'), 2],
      [answer('demo', 'Encrypt', 'Encrypt'), 3],
      [answer('demo', 'Decrypt', 'Decrypt'), 1],
      [answer('demo', 'CreateKey', 'GetKeyMetadata'), 1],
      [answer('demo', 'Other', 'Encrypt'), 1],
      [answer('demo', '(none)', 'Encrypt', 'AuthenticationFailedException'), 2],
      [answer('demo', 'Encrypt', 'Encrypt', 'AccessDeniedException'), 1],
      [answer('demo', 'CreateKey', 'GetKeyMetadata', 'KeyNotFoundException'), 1],
      [answer('(none)', '(none)', '(none)', 'InvalidUriPathException'), 1],
    ];
    for (const [labels, count] of expected) assert.equal(delta(ERRORS, labels), count, JSON.stringify(labels));
    const sum = (list: Sample[]) => find(list, ERRORS).reduce((n, s) => n + s.value, 0);
    assert.equal(sum(samples) - sum(before), total, 'every request counted once');
    assert.equal(find(samples, ERRORS, { kms_operation: 'BulkEncrypt' }).length, 0, 'an unknown kmsOperation never becomes a label value');

    // The latency histogram: one observation per answer, under the same keystore and operations.
    const encryptSeries = { keystore: 'demo', kms_operation: 'Encrypt', xks_operation: 'Encrypt' };
    assert.equal(delta(`${LATENCY}_count`, encryptSeries), 4, 'three successes and one denial');
    const buckets = find(samples, `${LATENCY}_bucket`, encryptSeries);
    assert.deepEqual(
      buckets.map((b) => b.labels.le),
      [...XKS_LATENCY_BUCKETS.map(String), '+Inf'],
      'buckets resolve 0.5 ms to 250 ms',
    );
    assert.ok(
      buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1]!.value),
      'cumulative',
    );
    assert.equal(buckets.at(-1)!.value, valueOf(samples, `${LATENCY}_count`, encryptSeries));
    const allCounts =
      find(samples, `${LATENCY}_count`).reduce((n, s) => n + s.value, 0) -
      find(before, `${LATENCY}_count`).reduce((n, s) => n + s.value, 0);
    assert.equal(allCounts, total);

    // Authentication failures by reason; the policy denial by rule; no throttling happened.
    assert.equal(delta('keyhold_xks_authentication_failures_total', { keystore: 'demo', reason: 'signature-mismatch' }), 1);
    assert.equal(delta('keyhold_xks_authentication_failures_total', { keystore: 'demo', reason: 'unknown-access-key' }), 1);
    assert.equal(delta('keyhold_xks_policy_denials_total', { keystore: 'demo', rule_id: 'no-intruder/deny-intruder', mode: 'enforce' }), 1);
    assert.match(text, /^# TYPE keyhold_xks_proxy_throttles_total counter$/m);
    assert.equal(find(samples, 'keyhold_xks_proxy_throttles_total').length, 0);
  });

  it('an audit-only rule that would deny is counted as mode="audit-only" while the request succeeds', async () => {
    const before = (await scrape(node, tokens.monitor)).samples;
    await admin(node, 'POST', '/policies', {
      name: 'trial',
      mode: 'audit-only',
      attach: { keystore: 'demo' },
      rules: [{ id: 'would-deny-all', effect: 'deny' }],
    });
    expectStatus(await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(8)) }), 200);
    const after = (await scrape(node, tokens.monitor)).samples;
    const labels = { keystore: 'demo', rule_id: 'trial/would-deny-all', mode: 'audit-only' };
    assert.equal(
      valueOf(after, 'keyhold_xks_policy_denials_total', labels) - valueOf(before, 'keyhold_xks_policy_denials_total', labels),
      1,
    );
    expectStatus(await admin(node, 'DELETE', '/policies/trial'), 204);
  });

  it('audit commits: the committed-events counter moves with the audit chain, the queue is read at scrape time', async () => {
    await node.node.audit.log.flush();
    const before = (await scrape(node, tokens.monitor)).samples;
    const seqBefore = node.node.audit.status().committedSeq;
    for (let i = 0; i < 5; i++) expectStatus(await xks(node, { operation: 'health', body: healthBody() }), 200);
    await node.node.audit.log.flush();
    const after = (await scrape(node, tokens.monitor)).samples;
    const committed = node.node.audit.status().committedSeq - seqBefore;
    assert.ok(committed >= 5);
    assert.equal(
      valueOf(after, 'keyhold_audit_committed_events_total') - valueOf(before, 'keyhold_audit_committed_events_total'),
      committed,
    );
    assert.ok(valueOf(after, 'keyhold_audit_commit_latency_seconds_count') > valueOf(before, 'keyhold_audit_commit_latency_seconds_count'));
    assert.equal(find(after, 'keyhold_audit_queue_depth').length, 1);
    assert.equal(valueOf(after, 'keyhold_audit_queue_depth'), 0);
    assert.equal(valueOf(after, 'keyhold_audit_spooled_events'), 0);
  });

  it('node state: root of trust, EKM health, sealed, kill switch, fleet size, process metrics', async () => {
    let { samples } = await scrape(node, tokens.monitor);
    assert.deepEqual(
      find(samples, 'keyhold_root_of_trust_state').map((s) => [s.labels.kind, s.labels.state, s.value]),
      [
        ['software', 'ACTIVE', 1],
        ['software', 'DEGRADED', 0],
        ['software', 'UNAVAILABLE', 0],
      ],
    );
    assert.deepEqual(
      find(samples, 'keyhold_xks_external_key_manager_states').map((s) => [s.labels.state, s.value]),
      [
        ['ACTIVE', 1],
        ['DEGRADED', 0],
        ['UNAVAILABLE', 0],
      ],
    );
    assert.deepEqual(
      find(samples, 'keyhold_sealed').map((s) => s.value),
      [0],
    );
    assert.deepEqual(
      find(samples, 'keyhold_kill_switch_engaged').map((s) => s.value),
      [0],
    );
    assert.deepEqual(
      find(samples, 'keyhold_fleet_size').map((s) => s.value),
      [1],
    );
    assert.equal(find(samples, 'keyhold_build_info').length, 1);
    for (const name of [
      'keyhold_nodejs_eventloop_lag_p99_seconds',
      'keyhold_process_resident_memory_bytes',
      'keyhold_nodejs_heap_size_used_bytes',
    ]) {
      assert.equal(find(samples, name).length, 1, name);
    }

    expectStatus(await admin(node, 'PUT', '/node/kill-switch', { on: true, reason: 'metrics test' }), 200);
    try {
      ({ samples } = await scrape(node, tokens.monitor));
      assert.deepEqual(
        find(samples, 'keyhold_kill_switch_engaged').map((s) => s.value),
        [1],
      );
    } finally {
      expectStatus(await admin(node, 'PUT', '/node/kill-switch', { on: false }), 200);
    }
  });

  it('no secret anywhere: credential secret, API tokens, plaintext, Authorization', async () => {
    const plaintext = randomBytes(32);
    expectStatus(await xks(node, { operation: 'encrypt', body: encryptBody(plaintext) }), 200);
    const { text } = await scrape(node, tokens.monitor);
    for (const secret of [
      node.credential.secret,
      node.adminToken,
      ...Object.values(tokens),
      plaintext.toString('base64'),
      plaintext.toString('hex'),
    ]) {
      assert.ok(!text.includes(secret), 'a secret appeared in /metrics');
    }
    assert.ok(!/authorization|AWS4-HMAC-SHA256|Signature=/i.test(text));
  });
});

describe('GET /metrics served publicly (--metrics-public), certificate and credential age', () => {
  const clock = new ManualClock(Date.now());
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ clock, metricsPublic: true });
  });
  after(() => node.close());

  it('answers without a token; /api/v1 still requires one', async () => {
    const response = await getPath(node, '/metrics');
    assert.equal(response.status, 200, response.text);
    assert.equal((await getPath(node, '/api/v1/node')).status, 401);
  });

  it('certificate days to expire and credential age follow the clock exactly (XksProxyCertificateDaysToExpire, XksProxyCredentialAge)', async () => {
    const day = 86_400_000;
    const certificate = new X509Certificate(node.ca);
    const expiresAt = Date.parse(certificate.validTo);
    let { samples } = await scrape(node);
    assert.deepEqual(
      find(samples, 'keyhold_xks_proxy_certificate_days_to_expire').map((s) => [s.labels.certificate_name, s.value]),
      [['localhost', (expiresAt - clock.now()) / day]],
    );
    assert.deepEqual(
      find(samples, 'keyhold_xks_proxy_credential_age_days').map((s) => [s.labels.keystore, s.labels.access_key_id, s.value]),
      [['demo', node.credential.accessKeyId, 0]],
    );

    clock.advance(10 * day);
    ({ samples } = await scrape(node));
    assert.deepEqual(
      find(samples, 'keyhold_xks_proxy_credential_age_days').map((s) => s.value),
      [10],
    );
    assert.deepEqual(
      find(samples, 'keyhold_xks_proxy_certificate_days_to_expire').map((s) => s.value),
      [(expiresAt - clock.now()) / day],
    );

    // A second credential appears once the cached list is read again (at most a minute later).
    const added = expectStatus(await admin(node, 'POST', '/keystores/demo/credentials', {}), 201).json as {
      accessKeyId: string;
      secret: string;
    };
    clock.advance(2 * day);
    ({ samples } = await scrape(node));
    const ages = Object.fromEntries(
      find(samples, 'keyhold_xks_proxy_credential_age_days').map((s) => [String(s.labels.access_key_id), s.value] as const),
    );
    assert.deepEqual(ages, { [node.credential.accessKeyId]: 12, [added.accessKeyId]: 2 });
    assert.ok(!(await getPath(node, '/metrics')).text.includes(added.secret));
  });
});
