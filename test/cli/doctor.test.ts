/**
 * `keyhold doctor` against a running `keyhold serve` child whose data directory came from `keyhold init`
 * (so this also proves init's demo keystore and key work end to end).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  describeRun,
  keyhold,
  readKmsConsole,
  removeTempDirs,
  startServe,
  tempDir,
  type Credential,
  type RunResult,
  type ServedNode,
} from './helpers.js';

let node: ServedNode;
let cwd: string;
let credential: Credential;
before(async () => {
  cwd = tempDir('doctor');
  const init = await keyhold(['init', '--data-dir', 'data'], { cwd });
  assert.equal(init.code, 0, describeRun(init));
  node = await startServe({ cwd, dataDirArg: 'data' });
  credential = readKmsConsole(node.dataDir).credential;
});
after(async () => {
  await node?.stop();
  removeTempDirs();
});

/**
 * The doctor's own per-attempt deadline mimics KMS (250 ms); on a busy test machine that measures the
 * machine, not the proxy, so the tests allow more.
 */
const doctor = (secret: string, ...tls: string[]) =>
  keyhold(
    [
      'doctor',
      '--endpoint',
      `https://localhost:${node.port}`,
      '--prefix',
      '/demo',
      '--access-key-id',
      credential.accessKeyId,
      '--secret',
      secret,
      '--key',
      'demo-key',
      ...tls,
      '--timeout-ms',
      '5000',
    ],
    { cwd, timeoutMs: 60_000 },
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
  assert.ok(!result.stdout.includes(credential.secret) && !result.stderr.includes(credential.secret), 'the secret is never printed');
}

describe('keyhold doctor against the running node', () => {
  it('doctor --endpoint https://localhost:PORT --prefix /demo … --key demo-key --ca DATA/tls/cert.pem passes (exit 0, PASS lines)', async () => {
    const result = await doctor(credential.secret, '--ca', 'data/tls/cert.pem');
    assertPasses(result);
    assert.match(
      result.stdout,
      new RegExp(
        `^doctor: https://localhost:${node.port}/demo/kms/xks/v1 \\(access key id ${credential.accessKeyId}, region us-east-1\\)$`,
        'm',
      ),
    );
  });

  it('doctor with a wrong secret exits non-zero and reports FAIL lines', async () => {
    const wrong = `${credential.secret.slice(0, -4)}${credential.secret.endsWith('AAA=') ? 'BBB=' : 'AAA='}`;
    const result = await doctor(wrong, '--ca', 'data/tls/cert.pem');
    assert.notEqual(result.code, 0, describeRun(result));
    assert.match(result.stdout, /^FAIL /m);
    assert.match(result.stdout, /^doctor: \d+ of \d+ checks failed$/m);
    assert.ok(!result.stdout.includes(wrong), 'the (wrong) secret is not printed either');
  });

  it('doctor with --insecure instead of --ca passes too', async () => {
    assertPasses(await doctor(credential.secret, '--insecure'));
  });

  it('doctor without --ca or --insecure fails on the self-signed certificate (non-zero exit)', async () => {
    const result = await doctor(credential.secret);
    assert.notEqual(result.code, 0, describeRun(result));
    assert.match(result.stdout, /^FAIL /m);
  });
});
