import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSoftHsmToken, removeSoftHsmTokens, SOFTHSM_LIBRARY } from '../helpers/softhsm.js';
import { adminGet, describeRun, failureLine, keyhold, ok, parseJsonOutput, removeTempDirs, startServe, tempDir } from './helpers.js';

after(() => {
  removeTempDirs();
  removeSoftHsmTokens();
});

describe('keyhold init --root pkcs11 (SoftHSMv2)', () => {
  const token = createSoftHsmToken();
  const cwd = tempDir('init-pkcs11');
  const pkcs11Args = (mode = 'keys') => [
    '--root',
    'pkcs11',
    '--pkcs11-library',
    SOFTHSM_LIBRARY,
    '--pkcs11-token-label',
    token.label,
    '--pkcs11-pin-file',
    token.pinFile,
    '--pkcs11-mode',
    mode,
  ];

  it('creates root.json and the master key on the token instead of master.key; serve then keeps keys on the token', async () => {
    const result = await keyhold(['init', '--data-dir', 'hsm', ...pkcs11Args('keys')], { cwd });
    assert.equal(result.code, 0, describeRun(result));
    const dataDir = join(cwd, 'hsm');
    assert.ok(!existsSync(join(dataDir, 'master.key')), 'no master key file');
    const rootJson = JSON.parse(readFileSync(join(dataDir, 'root.json'), 'utf8')) as { masterKeyId: string };
    assert.deepEqual(
      { ...rootJson, masterKeyId: typeof rootJson.masterKeyId },
      { kind: 'pkcs11', mode: 'keys', library: SOFTHSM_LIBRARY, tokenLabel: token.label, pinFile: token.pinFile, masterKeyId: 'string' },
    );
    assert.ok(!readFileSync(join(dataDir, 'root.json'), 'utf8').includes(token.pin));
    assert.match(token.pkcs11Tool(['--list-objects', '--type', 'secrkey']), new RegExp(`keyhold:master:${rootJson.masterKeyId}`));

    const node = await startServe({ cwd, dataDirArg: 'hsm' });
    try {
      const status = await adminGet<{ rootOfTrust: string; rootOfTrustState: string; rootOfTrustModel: string }>(node, '/node');
      assert.equal(status.json?.rootOfTrust, 'pkcs11');
      assert.equal(status.json.rootOfTrustState, 'ACTIVE');
      assert.match(status.json.rootOfTrustModel, /SoftHSM.*keys mode/);
      const hsmStatus = parseJsonOutput<{ rootOfTrust: string; state: string; model: string }>(
        ok(await keyhold(['--data-dir', 'hsm', '--json', 'hsm', 'status'], { cwd })),
      );
      assert.equal(hsmStatus.rootOfTrust, 'pkcs11');
      assert.equal(hsmStatus.state, 'ACTIVE');
      assert.match(hsmStatus.model, new RegExp(`SoftHSM.*token "${token.label}".*keys mode`));
      assert.match(ok(await keyhold(['--data-dir', 'hsm', 'hsm', 'status'], { cwd })).stdout, /state\s+ACTIVE/);
      const created = ok(await keyhold(['--data-dir', 'hsm', '--json', 'key', 'create', 'on-the-token', '--keystore', 'demo'], { cwd }));
      assert.equal(parseJsonOutput<{ id: string }>(created).id, 'on-the-token');
      assert.match(token.pkcs11Tool(['--list-objects', '--type', 'secrkey']), /keyhold:key-material:[^\n]+:1/);
    } finally {
      await node.stop();
    }
  });

  it('the PIN may come from KEYHOLD_PKCS11_PIN instead of a file (wrap mode)', async () => {
    const args = pkcs11Args('wrap').filter((arg, i, all) => arg !== '--pkcs11-pin-file' && all[i - 1] !== '--pkcs11-pin-file');
    const result = await keyhold(['init', '--data-dir', 'wrap', ...args], { cwd, env: { KEYHOLD_PKCS11_PIN: token.pin } });
    assert.equal(result.code, 0, describeRun(result));
    assert.equal((JSON.parse(readFileSync(join(cwd, 'wrap', 'root.json'), 'utf8')) as { mode: string }).mode, 'wrap');
  });

  describe('each failure says why in one line and creates nothing', () => {
    const loosePin = join(cwd, 'loose.pin');
    writeFileSync(loosePin, token.pin);
    chmodSync(loosePin, 0o644);
    const wrongPin = join(cwd, 'wrong.pin');
    writeFileSync(wrongPin, '000000', { mode: 0o600 });
    const replace = (flag: string, value: string) => pkcs11Args().map((arg, i, all) => (all[i - 1] === flag ? value : arg));
    const cases: [string, string[], RegExp][] = [
      ['unknown root', ['--root', 'tpm'], /unknown root of trust "tpm"/],
      ['no library', ['--root', 'pkcs11', '--pkcs11-token-label', token.label], /needs --pkcs11-library/],
      ['no token label', ['--root', 'pkcs11', '--pkcs11-library', SOFTHSM_LIBRARY], /needs --pkcs11-token-label/],
      ['bad mode', replace('--pkcs11-mode', 'both'), /--pkcs11-mode must be keys or wrap/],
      ['missing library file', replace('--pkcs11-library', '/nonexistent/libpkcs11.so'), /HSM call failed .*libpkcs11\.so/],
      ['no such token', replace('--pkcs11-token-label', 'not-a-token'), /no token labelled "not-a-token"/],
      ['PIN file readable by others', replace('--pkcs11-pin-file', loosePin), /readable by others/],
      ['no PIN file and no KEYHOLD_PKCS11_PIN', pkcs11Args().slice(0, -4).concat(['--pkcs11-mode', 'keys']), /PKCS#11 PIN is missing/],
      ['wrong PIN', replace('--pkcs11-pin-file', wrongPin), /CKR_PIN_INCORRECT/],
      // Fails after the master key was created on the token: the key is destroyed again.
      ['unreachable database', [...pkcs11Args(), '--database-url', 'postgres://127.0.0.1:1/none'], /ECONNREFUSED|connect/],
    ];
    const masterKeys = () => token.pkcs11Tool(['--list-objects', '--type', 'secrkey']).match(/keyhold:master:/g)?.length ?? 0;
    let mastersBefore = 0;
    before(() => {
      mastersBefore = masterKeys();
    });
    for (const [label, args, reason] of cases) {
      it(`${label} → ${reason.source}`, async () => {
        const result = await keyhold(['init', '--data-dir', 'failed', ...args], { cwd });
        assert.match(failureLine(result), reason);
        assert.ok(!existsSync(join(cwd, 'failed')), 'no data directory left behind');
        assert.equal(masterKeys(), mastersBefore, 'no master key left behind on the token');
      });
    }
  });
});
