/**
 * The serving certificate reloaded without a restart (docs/security.md#certificate-reload): when the files change
 * or on reloadTls() (SIGHUP), new handshakes get the new certificate, established connections stay up, the
 * days-to-expiry metric follows, and a broken pair is refused while the old one keeps serving.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { delay } from '../cli/processes.js';
import { getPath, parseExposition } from '../helpers/metrics.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { sendH2 } from '../helpers/raw-http.js';
import { createTestCa, type TestCa } from '../helpers/test-pki.js';

const DAY_MS = 86_400_000;

/** The serial number of the certificate a fresh handshake gets, trusting `ca`. */
function servedSerial(node: TestNode, ca: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: node.port, servername: 'localhost', ca, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

async function daysToExpire(node: TestNode): Promise<number[]> {
  const response = await getPath(node, '/metrics');
  return parseExposition(response.text)
    .filter((sample) => sample.name === 'keyhold_xks_proxy_certificate_days_to_expire')
    .map((sample) => sample.value);
}

describe('TLS certificate reload', () => {
  let node: TestNode;
  let ca: TestCa;
  before(async () => {
    ca = await createTestCa('Reload CA');
    node = await startTestNode({ metricsPublic: true, tlsReloadIntervalMs: 100 });
  });
  after(() => node.close());

  it('a new pair written to the files serves new handshakes within seconds; an established HTTP/2 connection keeps working; days-to-expiry follows', async () => {
    const oldSerial = new X509Certificate(node.ca).serialNumber;
    assert.equal((await servedSerial(node, node.ca)).toUpperCase(), oldSerial.toUpperCase());
    const [oldDays] = await daysToExpire(node);
    assert.ok(oldDays !== undefined && oldDays > 300, String(oldDays));

    const session = http2Connect(node.url, { ca: node.ca, servername: 'localhost' });
    session.on('error', () => undefined);
    try {
      assert.equal((await sendH2(session, { method: 'GET', path: '/ping' })).status, 200);
      const next = await ca.issue('localhost', { serverAuth: true, notAfter: new Date(Date.now() + 5 * DAY_MS) });
      writeFileSync(join(node.dataDir, 'tls', 'key.pem'), next.keyPem);
      writeFileSync(join(node.dataDir, 'tls', 'cert.pem'), next.certPem);
      const newSerial = new X509Certificate(next.certPem).serialNumber.toUpperCase();
      let served = '';
      for (let waited = 0; waited < 5_000 && served !== newSerial; waited += 100) {
        await delay(100);
        served = (await servedSerial(node, ca.certPem)).toUpperCase();
      }
      assert.equal(served, newSerial);
      // The connection made before the reload is still up and still served.
      assert.equal((await sendH2(session, { method: 'GET', path: '/ping' })).status, 200);
      assert.ok(!session.destroyed);
      const [newDays] = await daysToExpire(node);
      assert.ok(newDays !== undefined && newDays > 4 && newDays <= 5, String(newDays));
      assert.ok(node.logs.some((line) => line.event === 'tls.reloaded'));
    } finally {
      session.destroy();
    }
  });

  it('a key that does not match the certificate is refused and logged; the node keeps serving the previous pair', async () => {
    const before = await servedSerial(node, ca.certPem);
    const stray = await ca.issue('localhost', { serverAuth: true });
    writeFileSync(join(node.dataDir, 'tls', 'key.pem'), stray.keyPem);
    assert.equal(node.node.reloadTls(), false);
    // The file watcher sees the change too, and refuses it the same way.
    await delay(300);
    assert.ok(node.logs.some((line) => line.event === 'tls.reload_failed'));
    assert.equal(await servedSerial(node, ca.certPem), before);
  });
});
