/**
 * The admin plane off the public port (docs/security.md#listeners): in split mode the XKS listener serves XKS
 * paths, /ping, /healthz and /readyz only; the admin API and /metrics live on the admin listener, which can
 * require a client certificate.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getPath } from '../helpers/metrics.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { httpsRequest, type RawResponse } from '../helpers/raw-http.js';
import { okBody } from '../helpers/xks-answers.js';
import { healthBody, xks } from '../helpers/xks-client.js';
import { createTestCa, type IssuedCertificate } from '../helpers/test-pki.js';

function get(node: TestNode, url: string, path: string, client?: IssuedCertificate): Promise<RawResponse> {
  const { port } = new URL(url);
  return httpsRequest(
    {
      host: '127.0.0.1',
      port: Number(port),
      servername: 'localhost',
      ca: node.ca,
      path,
      method: 'GET',
      agent: false,
      headers: { authorization: `Bearer ${node.adminToken}` },
      ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    },
    undefined,
    5_000,
  );
}

describe('split listeners: XKS on one port, the admin side on another', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ adminListener: { host: '127.0.0.1', port: 0 } });
  });
  after(() => node.close());

  it('the XKS listener serves signed XKS requests, /ping, /healthz and /readyz', async () => {
    okBody(await xks(node, { operation: 'health', body: healthBody() }), 'health');
    assert.equal((await getPath(node, '/ping')).status, 200);
    assert.equal((await getPath(node, '/healthz')).status, 200);
    assert.ok([200, 503].includes((await getPath(node, '/readyz')).status));
  });

  it('the XKS listener does not serve the admin API or /metrics, even with a valid admin token', async () => {
    assert.notEqual(node.node.adminUrl, node.node.url);
    for (const path of ['/api/v1/node', '/api/v1/keystores', '/metrics', '/console/']) {
      const response = await get(node, node.node.url, path);
      assert.ok(response.status >= 400 && response.status < 500, `${path}: ${response.status} ${response.text}`);
      assert.doesNotMatch(response.text, /nodeId|keyhold_build_info|keystores"/, path);
    }
  });

  it('the admin listener serves the admin API and /metrics, and no XKS path', async () => {
    const status = await get(node, node.node.adminUrl, '/api/v1/node');
    assert.equal(status.status, 200, status.text);
    assert.match(status.text, /nodeId/);
    const metrics = await get(node, node.node.adminUrl, '/metrics');
    assert.equal(metrics.status, 200, metrics.text);
    assert.match(metrics.text, /keyhold_build_info/);
    const xksPath = await get(node, node.node.adminUrl, `${node.prefix}/kms/xks/v1/health`);
    assert.equal(xksPath.status, 404, xksPath.text);
  });

  it('node.json tells the CLI the admin listener (adminUrl) and the XKS listener (xksUrl)', () => {
    const info = JSON.parse(readFileSync(join(node.dataDir, 'node.json'), 'utf8')) as { adminUrl: string; xksUrl: string };
    assert.equal(info.adminUrl, node.node.adminUrl);
    assert.equal(info.xksUrl, node.node.url);
  });
});

describe('--admin-client-ca: the admin listener requires a client certificate', () => {
  it('without a certificate the handshake fails; with one from the CA the admin API answers; the XKS listener is unaffected', async () => {
    const ca = await createTestCa('Operators CA');
    const node = await startTestNode({ adminListener: { host: '127.0.0.1', port: 0, clientCaPem: ca.certPem } });
    try {
      await assert.rejects(get(node, node.node.adminUrl, '/api/v1/node'));
      const other = await (await createTestCa('Other CA')).issue('operator');
      await assert.rejects(get(node, node.node.adminUrl, '/api/v1/node', other));
      const operator = await ca.issue('operator');
      const status = await get(node, node.node.adminUrl, '/api/v1/node', operator);
      assert.equal(status.status, 200, status.text);
      okBody(await xks(node, { operation: 'health', body: healthBody() }), 'health');
    } finally {
      await node.close();
    }
  });
});
