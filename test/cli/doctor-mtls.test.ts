/**
 * `keyhold serve --xks-client-ca` (mutual TLS, docs/requirements.md#authentication items 88–91) checked with
 * `keyhold doctor --client-cert/--client-key`, as KMS would present its certificate.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTestCa } from '../helpers/test-pki.js';
import { describeRun, keyhold, serveForSuite } from './helpers.js';

const suite = serveForSuite('doctor-mtls', {
  args: ['--xks-client-ca', 'kms-ca.pem'],
  prepare: async (cwd) => {
    const ca = await createTestCa('Test Amazon Trust Services');
    writeFileSync(join(cwd, 'kms-ca.pem'), ca.certPem);
    // The demo keystore's region is us-east-1: KMS there presents CN=cks.kms.us-east-1.amazonaws.com.
    const kms = await ca.issue('cks.kms.us-east-1.amazonaws.com');
    writeFileSync(join(cwd, 'kms.pem'), kms.certPem);
    writeFileSync(join(cwd, 'kms.key'), kms.keyPem, { mode: 0o600 });
  },
});

const doctor = (...extra: string[]) =>
  keyhold(
    [
      'doctor',
      '--endpoint',
      suite.node.url,
      '--prefix',
      '/demo',
      '--access-key-id',
      suite.demo.credential.accessKeyId,
      '--key',
      'demo-key',
      '--ca',
      'data/tls/cert.pem',
      '--timeout-ms',
      '5000',
      ...extra,
    ],
    // The secret from the environment: a --secret flag is refused (it would show in ps).
    { cwd: suite.cwd, timeoutMs: 60_000, env: { KEYHOLD_XKS_SECRET: suite.demo.credential.secret } },
  );

describe('keyhold doctor against a node with mutual TLS (docs/requirements.md items 88–91)', () => {
  it('88/89/91: with the KMS-like client certificate every check passes', async () => {
    const result = await doctor('--client-cert', 'kms.pem', '--client-key', 'kms.key');
    assert.equal(result.code, 0, describeRun(result));
    assert.match(result.stdout, /^doctor: all \d+ checks passed$/m);
  });

  it('90: without a client certificate doctor fails (401 before SigV4; refused certificates: test/server/mutual-tls.test.ts)', async () => {
    const none = await doctor();
    assert.equal(none.code, 1, describeRun(none));
    assert.match(none.stdout, /^FAIL /m);
  });

  it('--client-cert without --client-key is a usage error', async () => {
    const result = await doctor('--client-cert', 'kms.pem');
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /--client-cert and --client-key go together/);
  });
});
