/**
 * Issue 13, PKCS#11 keys mode (SoftHSMv2): the material never leaves the token, so a backup holds handles and
 * metadata only, and restore checks that every key handle resolves in the token before it writes anything.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, keyhold, removeTempDirs, tempDir } from '../cli/helpers.js';
import { createSoftHsmToken, removeSoftHsmTokens, SOFTHSM_LIBRARY } from '../helpers/softhsm.js';

after(() => {
  removeTempDirs();
  removeSoftHsmTokens();
});

describe('backup and restore with a PKCS#11 root in keys mode (issue 13)', () => {
  const token = createSoftHsmToken();
  const cwd = tempDir('backup-pkcs11');
  const source = join(cwd, 'hsm');
  const file = join(cwd, 'hsm.khb');
  const passphrase = join(cwd, 'passphrase');
  let targets = 0;

  /** A new data directory set up for the same token (root.json copied, as the runbook says). */
  function newTarget(): string {
    const dir = join(cwd, `target-${++targets}`);
    mkdirSync(dir, { mode: 0o700 });
    copyFileSync(join(source, 'root.json'), join(dir, 'root.json'));
    return dir;
  }
  const restore = (target: string) => keyhold(['--data-dir', target, 'backup', 'restore', file, '--passphrase-file', passphrase], { cwd });

  before(async () => {
    writeFileSync(passphrase, 'hsm backup passphrase\n', { mode: 0o600 });
    const args = ['--root', 'pkcs11', '--pkcs11-library', SOFTHSM_LIBRARY, '--pkcs11-token-label', token.label];
    const init = await keyhold(['init', '--data-dir', source, ...args, '--pkcs11-pin-file', token.pinFile, '--pkcs11-mode', 'keys'], {
      cwd,
    });
    assert.equal(init.code, 0, describeRun(init));
    const created = await keyhold(['--json', '--data-dir', source, 'backup', 'create', '--out', file, '--passphrase-file', passphrase], {
      cwd,
    });
    assert.equal(created.code, 0, describeRun(created));
    assert.equal((JSON.parse(created.stdout) as { manifest: { root: string } }).manifest.root, 'pkcs11/keys');
  });

  it('restores when every key handle resolves in the token', async () => {
    const run = await restore(newTarget());
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /\(2 key versions opened by the root of trust\)/);
  });

  it('refuses, target untouched, when a key object is missing from the token', async () => {
    const objects = token.pkcs11Tool(['--list-objects', '--type', 'secrkey']);
    const label = /label:\s+(keyhold:key-material:\S+)/.exec(objects)?.[1];
    assert.ok(label, objects);
    token.pkcs11Tool(['--delete-object', '--type', 'secrkey', '--label', label]);
    const target = newTarget();
    const run = await restore(target);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(
      run.stderr,
      /^keyhold: this root of trust cannot open version 1 of key \S+ \([^\n]*\); restore needs the same root of trust\n$/,
    );
    assert.deepEqual(readdirSync(target), ['root.json']);
  });

  it('refuses a data directory set up for another kind of root', async () => {
    const target = join(cwd, 'software');
    const init = await keyhold(['init', '--data-dir', target, '--no-demo'], { cwd });
    assert.equal(init.code, 0, describeRun(init));
    const run = await restore(target);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(
      run.stderr,
      /^keyhold: the backup's keys are wrapped under a pkcs11\/keys root of trust, but \S+ is set up for master-key-file\n$/,
    );
    assert.equal(existsSync(join(target, 'keyhold.db')), true);
  });
});
