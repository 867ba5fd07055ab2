/**
 * `keyhold doctor` against a running `keyhold serve` child whose data directory came from `keyhold init`
 * (so this also proves init's demo keystore and key work end to end).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRun, keyhold, serveForSuite, type RunResult } from './helpers.js';

const suite = serveForSuite('doctor', {
  prepare: async (cwd) => {
    const init = await keyhold(['init', '--data-dir', 'data'], { cwd });
    assert.equal(init.code, 0, describeRun(init));
  },
});
const { cwd } = suite;

/**
 * The doctor's own per-attempt deadline mimics KMS (250 ms); on a busy test machine that measures the
 * machine, not the proxy, so the tests allow more.
 */
const doctor = (secret: string, ...tls: string[]) =>
  keyhold(
    [
      'doctor',
      '--endpoint',
      `https://localhost:${suite.node.port}`,
      '--prefix',
      '/demo',
      '--access-key-id',
      suite.demo.credential.accessKeyId,
      '--key',
      'demo-key',
      ...tls,
      '--timeout-ms',
      '5000',
    ],
    // The secret from the environment: never a flag (it would show in ps).
    { cwd, timeoutMs: 60_000, env: { KEYHOLD_XKS_SECRET: secret } },
  );

function assertPasses(result: RunResult): void {
  assert.equal(result.code, 0, describeRun(result));
  const checks = result.stdout.split('\n').filter((line) => /^(PASS|FAIL) /.test(line));
  assert.ok(checks.length >= 10, `PASS lines printed:\n${result.stdout}`);
  assert.deepEqual(
    checks.filter((line) => !line.startsWith('PASS ')),
    [],
    'no FAIL line',
  );
  assert.match(result.stdout, new RegExp(`^doctor: all ${checks.length} checks passed$`, 'm'));
  const { secret } = suite.demo.credential;
  assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'the secret is never printed');
}

describe('keyhold doctor against the running node', () => {
  it('doctor --endpoint https://localhost:PORT --prefix /demo … --key demo-key --ca DATA/tls/cert.pem passes (exit 0, PASS lines)', async () => {
    const result = await doctor(suite.demo.credential.secret, '--ca', 'data/tls/cert.pem');
    assertPasses(result);
    assert.match(
      result.stdout,
      new RegExp(
        `^doctor: https://localhost:${suite.node.port}/demo/kms/xks/v1 \\(access key id ${suite.demo.credential.accessKeyId}, region us-east-1\\)$`,
        'm',
      ),
    );
  });

  it('doctor with a wrong secret exits non-zero and reports FAIL lines', async () => {
    const { secret } = suite.demo.credential;
    const wrong = `${secret.slice(0, -4)}${secret.endsWith('AAA=') ? 'BBB=' : 'AAA='}`;
    const result = await doctor(wrong, '--ca', 'data/tls/cert.pem');
    assert.notEqual(result.code, 0, describeRun(result));
    assert.match(result.stdout, /^FAIL /m);
    assert.match(result.stdout, /^doctor: \d+ of \d+ checks failed$/m);
    assert.ok(!result.stdout.includes(wrong), 'the (wrong) secret is not printed either');
  });

  it('doctor with --insecure instead of --ca passes too', async () => {
    assertPasses(await doctor(suite.demo.credential.secret, '--insecure'));
  });

  it('doctor without --ca or --insecure fails on the self-signed certificate (non-zero exit)', async () => {
    const result = await doctor(suite.demo.credential.secret);
    assert.notEqual(result.code, 0, describeRun(result));
    assert.match(result.stdout, /^FAIL /m);
  });
});
