/**
 * `serve --workers 2` on the other backends: a PKCS#11 root (SoftHSMv2; every worker opens its own
 * sessions, and a key generated on the token by one worker is used by the other) and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createScratchDatabase } from '../helpers/postgres.js';
import { createSoftHsmToken, removeSoftHsmTokens, SOFTHSM_LIBRARY } from '../helpers/softhsm.js';
import { adminCall, describeRun, keyhold, readKmsConsole, removeTempDirs, startServe, tempDir, type ServedNode } from './helpers.js';
import { encryptBurst, logLines, workersAnswering } from './workers-helpers.js';

after(() => {
  removeTempDirs();
  removeSoftHsmTokens();
});

/** Creates a key through the admin API; at once both workers encrypt with it; disabled, at once both refuse. */
async function keyChangesReachBothWorkers(node: ServedNode, keyId: string): Promise<void> {
  const demo = readKmsConsole(node.dataDir);
  assert.deepEqual([...(await workersAnswering(node)).keys()].sort(), [1, 2]);
  const created = await adminCall(node, 'POST', '/keys', { id: keyId, keystore: 'demo' });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(new Set(await encryptBurst(node, demo, keyId)), new Set([200]));
  const disabled = await adminCall(node, 'POST', `/keys/${keyId}/disable?keystore=demo`);
  assert.equal(disabled.status, 200, disabled.text);
  assert.deepEqual(new Set(await encryptBurst(node, demo, keyId)), new Set([400]));
  await node.stop();
  const used = logLines(node).filter((l) => l.event === 'xks.request' && l.keyId === keyId && l.status === 200);
  assert.deepEqual(new Set(used.map((l) => l.worker)), new Set([1, 2]), 'both workers encrypted with the new key');
}

describe('serve --workers 2 with a PKCS#11 root of trust (SoftHSMv2, keys on the token)', () => {
  it('each worker opens the token; a key generated on it through one worker encrypts on both', async () => {
    const token = createSoftHsmToken();
    const cwd = tempDir('workers-hsm');
    const init = await keyhold(
      [
        'init',
        '--data-dir',
        'hsm',
        '--root',
        'pkcs11',
        '--pkcs11-library',
        SOFTHSM_LIBRARY,
        '--pkcs11-token-label',
        token.label,
        '--pkcs11-pin-file',
        token.pinFile,
        '--pkcs11-mode',
        'keys',
      ],
      { cwd },
    );
    assert.equal(init.code, 0, describeRun(init));
    const node = await startServe({ cwd, dataDirArg: 'hsm', args: ['--workers', '2', '--request-log', 'all'] });
    try {
      for (const status of (await workersAnswering(node)).values())
        assert.equal((status as unknown as { rootOfTrustState: string }).rootOfTrustState, 'ACTIVE');
      await keyChangesReachBothWorkers(node, 'hsm-key');
    } finally {
      await node.stop();
    }
  });
});

describe('serve --workers 2 on PostgreSQL', () => {
  it('the primary migrates once; a key created through one worker encrypts on both at once, and is refused on both once disabled', async () => {
    const database = await createScratchDatabase();
    const cwd = tempDir('workers-pg');
    let node: ServedNode | undefined;
    try {
      node = await startServe({
        cwd,
        dataDirArg: 'data',
        args: ['--workers', '2', '--database-url', database.url, '--request-log', 'all'],
      });
      await keyChangesReachBothWorkers(node, 'pg-key');
      const verified = await keyhold(['--data-dir', 'data', 'audit', 'verify', '--database-url', database.url], { cwd });
      assert.equal(verified.code, 0, describeRun(verified));
      assert.equal(verified.stdout.split('\n').filter((line) => /^chain \S+-w[12]: .*verified: ok$/.test(line)).length, 2, verified.stdout);
    } finally {
      await node?.stop();
      await database.drop();
    }
  });
});
