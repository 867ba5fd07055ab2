/**
 * GET /api/v1/metrics on a real node: the samples GET /metrics serves, as JSON, behind the same permission
 * (metrics:read), counting real XKS requests; and the exposition parser on the format's corner cases.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { expositionSamples, type MetricSample } from '../../src/metrics/exposition-json.js';
import { bodyOf, errorOf, type CreatedToken } from '../helpers/admin-json.js';
import { scrape } from '../helpers/metrics.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, adminAs, encryptBody, xks } from '../helpers/xks-client.js';

interface MetricsJson {
  at: string;
  samples: MetricSample[];
}

const encryptsOk = (samples: MetricSample[]) =>
  samples.find(
    (s) =>
      s.name === 'keyhold_xks_proxy_errors_total' &&
      s.labels.xks_operation === 'Encrypt' &&
      s.labels.kms_operation === 'Encrypt' &&
      s.labels.exception_name === 'None',
  )?.value ?? 0;

describe('GET /api/v1/metrics', () => {
  let node: TestNode;
  const tokens: Record<string, string> = {};
  before(async () => {
    node = await startTestNode();
    for (const role of ['monitor', 'auditor', 'key-officer']) {
      tokens[role] = bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: `m ${role}`, role }), 201).token;
    }
  });
  after(() => node.close());

  it('metrics:read as for /metrics: the monitor and auditor roles and administrators may; a key officer may not', async () => {
    for (const token of [tokens.monitor, tokens.auditor, node.adminToken]) {
      const response = await adminAs(node, token, 'GET', '/metrics');
      assert.equal(response.status, 200, response.text);
      assert.equal(response.headers['cache-control'], 'no-store');
    }
    const officer = await adminAs(node, tokens['key-officer'], 'GET', '/metrics');
    assert.equal(officer.status, 403);
    assert.equal(errorOf(officer), 'this needs the metrics:read permission');
    assert.equal((await adminAs(node, undefined, 'GET', '/metrics')).status, 401);
  });

  it('counts XKS requests as /metrics does: three Encrypts add three; histograms keep their buckets; node gauges are there', async () => {
    const before = bodyOf<MetricsJson>(await adminAs(node, tokens.monitor, 'GET', '/metrics'));
    for (let i = 0; i < 3; i++) assert.equal((await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(32)) })).status, 200);
    const afterwards = bodyOf<MetricsJson>(await adminAs(node, tokens.monitor, 'GET', '/metrics'));
    assert.equal(Number(encryptsOk(afterwards.samples)) - Number(encryptsOk(before.samples)), 3);
    assert.ok(Date.parse(afterwards.at) >= Date.parse(before.at));

    const inf = afterwards.samples.find(
      (s) => s.name === 'keyhold_xks_proxy_latency_seconds_bucket' && s.labels.xks_operation === 'Encrypt' && s.labels.le === '+Inf',
    );
    assert.ok(inf && Number(inf.value) >= 3, JSON.stringify(inf));
    for (const gauge of ['keyhold_sealed', 'keyhold_kill_switch_engaged', 'keyhold_audit_queue_depth', 'keyhold_fleet_size']) {
      assert.ok(
        afterwards.samples.some((s) => s.name === gauge && typeof s.value === 'number'),
        gauge,
      );
    }

    // The same samples as the text exposition, name for name and label for label (values move between scrapes).
    const text = await scrape(node, tokens.monitor);
    const shape = (samples: { name: string; labels: Record<string, string> }[]) =>
      samples
        .filter((s) => s.name.startsWith('keyhold_xks_') || s.name.startsWith('keyhold_audit_'))
        .map((s) => `${s.name}${JSON.stringify(s.labels)}`)
        .sort();
    const json = bodyOf<MetricsJson>(await adminAs(node, tokens.monitor, 'GET', '/metrics'));
    assert.deepEqual(shape(json.samples), shape(text.samples));
  });
});

describe('expositionSamples', () => {
  it('labels with escapes, +Inf, NaN, timestamps, comments and blank lines', () => {
    const text = [
      '# HELP x_total a counter',
      '# TYPE x_total counter',
      'x_total{keystore="a\\"b",path="c:\\\\d",note="line\\nbreak"} 7',
      '',
      'y_bucket{le="+Inf"} 12',
      'z NaN',
      'w -Inf',
      'v 1.5e-3 1700000000000',
    ].join('\n');
    assert.deepEqual(expositionSamples(text), [
      { name: 'x_total', labels: { keystore: 'a"b', path: 'c:\\d', note: 'line\nbreak' }, value: 7 },
      { name: 'y_bucket', labels: { le: '+Inf' }, value: 12 },
      { name: 'z', labels: {}, value: null },
      { name: 'w', labels: {}, value: '-Inf' },
      { name: 'v', labels: {}, value: 0.0015 },
    ]);
  });
});
