/**
 * Mutual TLS on the XKS listener (docs/requirements.md#authentication items 88–91, docs/security.md#mutual-tls),
 * with a local CA issuing a KMS-like client certificate, a wrong-CN one, an expired one, a self-signed one and one
 * from another CA, over HTTP/1.1 and HTTP/2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { delay } from '../cli/processes.js';
import { commonNameMatcher } from '../../src/server/client-certificates.js';
import { getPath, parseExposition } from '../helpers/metrics.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { httpsRequest, parseJson, type RawResponse } from '../helpers/raw-http.js';
import { signKmsStyle } from '../helpers/signers.js';
import { expectError, okBody } from '../helpers/xks-answers.js';
import { healthBody, xksPath } from '../helpers/xks-client.js';
import { createTestCa, selfSignedClientCertificate, type IssuedCertificate, type TestCa } from '../helpers/test-pki.js';

const DAY_MS = 86_400_000;

/** A signed XKS health request over a fresh HTTP/1.1 connection, presenting `client` (or no certificate). */
async function healthOver(node: TestNode, client: IssuedCertificate | undefined): Promise<RawResponse> {
  const path = xksPath(node, 'health');
  const body = JSON.stringify(healthBody());
  const headers = await signKmsStyle({
    host: node.host,
    path,
    body,
    accessKeyId: node.credential.accessKeyId,
    secret: node.credential.secret,
    region: node.region,
  });
  return httpsRequest(
    {
      host: '127.0.0.1',
      port: node.port,
      servername: 'localhost',
      ca: node.ca,
      path,
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: false,
      ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    },
    body,
    5_000,
  );
}

/** The same over HTTP/2. */
async function healthOverH2(node: TestNode, client: IssuedCertificate): Promise<{ status: number; json: unknown }> {
  const path = xksPath(node, 'health');
  const body = JSON.stringify(healthBody());
  const headers = await signKmsStyle({
    host: node.host,
    path,
    body,
    accessKeyId: node.credential.accessKeyId,
    secret: node.credential.secret,
    region: node.region,
  });
  const session = http2Connect(node.url, { ca: node.ca, servername: 'localhost', cert: client.certPem, key: client.keyPem });
  try {
    return await new Promise((resolve, reject) => {
      session.on('error', reject);
      const { host: _host, ...rest } = headers;
      const stream = session.request({ ':method': 'POST', ':path': path, ...rest });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('end', () => resolve({ status, json: parseJson(Buffer.concat(chunks).toString('utf8')) }));
      stream.end(body);
    });
  } finally {
    session.destroy();
  }
}

async function refusals(node: TestNode): Promise<Record<string, number>> {
  const response = await getPath(node, '/metrics');
  assert.equal(response.status, 200, response.text);
  const counts: Record<string, number> = {};
  for (const sample of parseExposition(response.text))
    if (sample.name === 'keyhold_xks_client_certificate_refusals_total') counts[sample.labels.reason!] = sample.value;
  return counts;
}

const xksRequestLogs = (node: TestNode) => node.logs.filter((line) => line.event === 'xks.request').length;

describe('mutual TLS on the XKS listener (docs/requirements.md items 88–91)', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let node: TestNode;
  let kms: IssuedCertificate;

  before(async () => {
    ca = await createTestCa('Test Amazon Trust Services');
    otherCa = await createTestCa('Some Other CA');
    // Default CN pattern: KMS's CN in the region of each keystore (the demo keystore's region).
    node = await startTestNode({ metricsPublic: true, mutualTls: { caPem: ca.certPem } });
    kms = await ca.issue(`cks.kms.${node.region}.amazonaws.com`);
  });
  after(() => node.close());

  it('88/89/91: a KMS-like client certificate (cks.kms.<region>.amazonaws.com from the configured CA) is served, over HTTP/1.1 and HTTP/2', async () => {
    const logged = xksRequestLogs(node);
    const h1 = await healthOver(node, kms);
    assert.equal(h1.status, 200, h1.text);
    // The request went through the XKS handler (what the refusal tests count stays flat).
    assert.equal(xksRequestLogs(node), logged + 1);
    okBody(h1, 'health');
    const h2 = await healthOverH2(node, kms);
    assert.equal(h2.status, 200, JSON.stringify(h2.json));
  });

  it('90: certificates of another CA, another CN, expired or self-signed: the connection is cut before any request is read, counted and logged with the reason', async () => {
    const cases: [string, IssuedCertificate][] = [
      ['untrusted', await otherCa.issue(`cks.kms.${node.region}.amazonaws.com`)],
      ['wrong_subject', await ca.issue('cks.kms.eu-west-9.amazonaws.com')],
      ['wrong_subject', await ca.issue('attacker.example.com')],
      [
        'expired',
        await ca.issue(`cks.kms.${node.region}.amazonaws.com`, {
          notBefore: new Date(Date.now() - 20 * DAY_MS),
          notAfter: new Date(Date.now() - DAY_MS),
        }),
      ],
      ['self_signed', await selfSignedClientCertificate(`cks.kms.${node.region}.amazonaws.com`)],
    ];
    const before = await refusals(node);
    const requestsBefore = xksRequestLogs(node);
    for (const [reason, certificate] of cases) {
      await assert.rejects(healthOver(node, certificate), (error: NodeJS.ErrnoException) => {
        assert.match(String(error.code ?? error.message), /ECONNRESET|EPIPE|socket hang up|ERR_SSL/i, `${reason}: ${error.message}`);
        return true;
      });
    }
    const after = await refusals(node);
    const expected: Record<string, number> = {};
    for (const [reason] of cases) expected[reason] = (expected[reason] ?? 0) + 1;
    for (const [reason, count] of Object.entries(expected)) assert.equal((after[reason] ?? 0) - (before[reason] ?? 0), count, reason);
    // Refused before the XKS handler: no request reached SigV4 (no request line was logged).
    assert.equal(xksRequestLogs(node), requestsBefore);
    const logged = node.logs.filter((line) => line.event === 'xks.client_certificate_refused').map((line) => line.reason);
    for (const reason of Object.keys(expected)) assert.ok(logged.includes(reason), `logged ${reason}: ${JSON.stringify(logged)}`);
  });

  it('90: without a client certificate, XKS requests get 401 AuthenticationFailedException before SigV4; /ping, /healthz and /readyz still answer (load balancers)', async () => {
    const before = await refusals(node);
    const requestsBefore = xksRequestLogs(node);
    const refused = await healthOver(node, undefined);
    expectError(refused, 401, 'AuthenticationFailedException');
    assert.equal(xksRequestLogs(node), requestsBefore);
    const after = await refusals(node);
    assert.equal((after.no_certificate ?? 0) - (before.no_certificate ?? 0), 1);
    for (const path of ['/ping', '/healthz']) {
      const response = await getPath(node, path);
      assert.equal(response.status, 200, `${path}: ${response.text}`);
    }
    assert.ok([200, 503].includes((await getPath(node, '/readyz')).status));
  });
});

describe('--xks-client-cn patterns (docs/requirements.md item 89)', () => {
  it('89: a pattern accepts its CNs only; * stands for one DNS label; several patterns separated by commas', () => {
    const kmsAnyRegion = commonNameMatcher('cks.kms.*.amazonaws.com');
    assert.ok(kmsAnyRegion('cks.kms.eu-west-1.amazonaws.com'));
    assert.ok(kmsAnyRegion('CKS.KMS.us-east-1.amazonaws.com'));
    assert.ok(!kmsAnyRegion('cks.kms.a.b.amazonaws.com'));
    assert.ok(!kmsAnyRegion('cks.kms.us-east-1.amazonaws.com.evil.example'));
    assert.ok(!kmsAnyRegion('xcks.kms.us-east-1.amazonaws.com'));
    assert.ok(!kmsAnyRegion('cksXkms.us-east-1.amazonaws.com'));
    const two = commonNameMatcher('a.example, b.example');
    assert.ok(two('a.example') && two('b.example') && !two('c.example'));
    assert.throws(() => commonNameMatcher(''), /empty/);
    assert.throws(() => commonNameMatcher('a^b'), /not a CN pattern/);
  });

  it('89: a node given a pattern accepts a certificate it matches, in a region no keystore has', async () => {
    const ca = await createTestCa('Test CA');
    const node = await startTestNode({ mutualTls: { caPem: ca.certPem, commonNamePattern: 'cks.kms.*.amazonaws.com' } });
    try {
      const response = await healthOver(node, await ca.issue('cks.kms.ap-south-2.amazonaws.com'));
      assert.equal(response.status, 200, response.text);
      await assert.rejects(healthOver(node, await ca.issue('cks.kms.amazonaws.com')));
    } finally {
      await node.close();
    }
  });
});

describe('--xks-client-ca reloaded with the certificate (docs/security.md#certificate-reload)', () => {
  it('90: a new CA bundle written to the file is applied to new handshakes; a file without a certificate is refused and the old bundle kept', async () => {
    const oldCa = await createTestCa('Old client CA');
    const newCa = await createTestCa('New client CA');
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-client-ca-'));
    const caPath = join(dir, 'client-ca.pem');
    writeFileSync(caPath, oldCa.certPem);
    const node = await startTestNode({ mutualTls: { caPem: oldCa.certPem, caPath }, tlsReloadIntervalMs: 100 });
    try {
      const cn = `cks.kms.${node.region}.amazonaws.com`;
      const fromOld = await oldCa.issue(cn);
      const fromNew = await newCa.issue(cn);
      assert.equal((await healthOver(node, fromOld)).status, 200);
      await assert.rejects(healthOver(node, fromNew));
      // An established HTTP/2 connection with the old CA's certificate, kept across the reload.
      const session = http2Connect(node.url, { ca: node.ca, servername: 'localhost', cert: fromOld.certPem, key: fromOld.keyPem });
      session.on('error', () => undefined);
      await new Promise((resolve) => session.once('connect', resolve));
      try {
        writeFileSync(caPath, newCa.certPem);
        // Polled every 100 ms: the new bundle is in force within a few seconds.
        let status = 0;
        for (let i = 0; i < 50 && status !== 200; i++) {
          await delay(100);
          status = await healthOver(node, fromNew).then(
            (response) => response.status,
            () => 0,
          );
        }
        assert.equal(status, 200, 'a certificate of the new CA is accepted');
        await assert.rejects(healthOver(node, fromOld), 'a certificate of the old CA is refused on a new connection');
        assert.ok(!session.closed && !session.destroyed, 'the established connection is not dropped');

        // Not a certificate: refused, logged, the bundle in force stays.
        writeFileSync(caPath, 'not a certificate\n');
        assert.equal(node.node.reloadTls(), false);
        assert.ok(node.logs.some((line) => line.event === 'tls.reload_failed' && String(line.reason).includes('no PEM certificate')));
        assert.equal((await healthOver(node, fromNew)).status, 200);
      } finally {
        session.destroy();
      }
    } finally {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
