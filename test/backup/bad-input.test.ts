/**
 * Issue 13, bad input loses nothing: a truncated or altered file, a wrong passphrase, a newer format, a root
 * of trust that cannot open the keys and a non-empty target each give one `keyhold: …` line, exit 1, and
 * leave the target exactly as it was.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, keyhold, removeTempDirs, tempDir, type RunResult } from '../cli/helpers.js';

const work = tempDir('backup-bad');
const source = join(work, 'source');
const backupFile = join(work, 'good.khb');
const passphraseFile = join(work, 'passphrase');
let good: Buffer;
let targets = 0;

/** A new target data directory holding only the source's master key (or the one given). */
function newTarget(masterKey?: Buffer): string {
  const dir = join(work, `target-${++targets}`);
  mkdirSync(dir, { mode: 0o700 });
  if (masterKey) writeFileSync(join(dir, 'master.key'), masterKey, { mode: 0o600 });
  else copyFileSync(join(source, 'master.key'), join(dir, 'master.key'));
  return dir;
}

/** Every file of a directory with its SHA-256: what "untouched" compares. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => {
        const path = join(entry.parentPath, entry.name);
        return [path, createHash('sha256').update(readFileSync(path)).digest('hex')];
      }),
  );
}

function variant(name: string, bytes: Buffer): string {
  const file = join(work, name);
  writeFileSync(file, bytes);
  return file;
}

const restore = (file: string, target: string, extra: string[] = [], passphrase = passphraseFile) =>
  keyhold(['--data-dir', target, 'backup', 'restore', file, '--passphrase-file', passphrase, ...extra], { cwd: work });

function assertOneLineFailure(run: RunResult, pattern: RegExp): void {
  assert.equal(run.code, 1, describeRun(run));
  assert.match(run.stderr, /^keyhold: [^\n]+\n$/, `exactly one line: ${describeRun(run)}`);
  assert.match(run.stderr, pattern);
  assert.equal(run.stdout, '');
}

/** Restoring `file` into a fresh target fails with one line matching `pattern`, and the target keeps only its master.key. */
async function refusedUntouched(file: string, pattern: RegExp, options: { masterKey?: Buffer; passphrase?: string } = {}) {
  const target = newTarget(options.masterKey);
  const before = snapshot(target);
  assertOneLineFailure(await restore(file, target, [], options.passphrase), pattern);
  assert.deepEqual(snapshot(target), before, 'the target is untouched');
  assert.equal(existsSync(join(target, 'keyhold.db')), false);
}

before(async () => {
  writeFileSync(passphraseFile, 'a long enough passphrase\n', { mode: 0o600 });
  const init = await keyhold(['--data-dir', source, 'init'], { cwd: work });
  assert.equal(init.code, 0, describeRun(init));
  const created = await keyhold(['--data-dir', source, 'backup', 'create', '--out', backupFile, '--passphrase-file', passphraseFile], {
    cwd: work,
  });
  assert.equal(created.code, 0, describeRun(created));
  good = readFileSync(backupFile);
});

after(() => removeTempDirs());

describe('backup verify and restore refuse bad input with one line, target untouched (issue 13)', () => {
  it('a truncated file', async () => {
    const file = variant('truncated.khb', good.subarray(0, good.length - 100));
    await refusedUntouched(file, /truncated/);
    assertOneLineFailure(await keyhold(['backup', 'verify', file], { cwd: work }), /truncated/);
    // Cut inside the manifest too.
    await refusedUntouched(variant('stub.khb', good.subarray(0, 40)), /truncated/);
  });

  it('one altered byte in the encrypted content', async () => {
    const bytes = Buffer.from(good);
    bytes[bytes.length - 50] = (bytes[bytes.length - 50] ?? 0) ^ 0x01;
    const file = variant('altered-content.khb', bytes);
    await refusedUntouched(file, /damaged or altered/);
    assertOneLineFailure(await keyhold(['backup', 'verify', file], { cwd: work }), /damaged or altered/);
  });

  it('an altered manifest (its fields are the encryption AAD)', async () => {
    const text = good.toString('latin1');
    const altered = text.replace(/"createdAt":"(\d)/, (_, digit: string) => `"createdAt":"${(Number(digit) + 1) % 10}`);
    assert.notEqual(altered, text);
    await refusedUntouched(variant('altered-manifest.khb', Buffer.from(altered, 'latin1')), /was altered/);
  });

  it('a wrong passphrase', async () => {
    const wrong = join(work, 'wrong-passphrase');
    writeFileSync(wrong, 'not the passphrase at all\n');
    await refusedUntouched(backupFile, /wrong passphrase/, { passphrase: wrong });
    assertOneLineFailure(await keyhold(['backup', 'verify', backupFile, '--passphrase-file', wrong], { cwd: work }), /wrong passphrase/);
  });

  it('a backup from a newer format', async () => {
    const newer = Buffer.from(good.toString('latin1').replace('"format":1,', '"format":2,'), 'latin1');
    await refusedUntouched(variant('newer.khb', newer), /format 2, newer than this Keyhold reads \(1\)/);
  });

  it('not a backup at all', async () => {
    await refusedUntouched(variant('random.bin', randomBytes(4096)), /not a Keyhold backup file/);
  });

  it('a root of trust that cannot open the keys (another master key), or none at all', async () => {
    await refusedUntouched(backupFile, /this root of trust cannot open version 1 of key/, {
      masterKey: Buffer.from(randomBytes(32).toString('base64') + '\n'),
    });
    const empty = join(work, 'no-root');
    mkdirSync(empty);
    assertOneLineFailure(await restore(backupFile, empty), /no master key in .*: place the backed-up node's master\.key there first/);
    assert.deepEqual(readdirSync(empty), []);
  });

  it('a non-empty target is refused (database unchanged) unless --force', async () => {
    const target = newTarget();
    const first = await restore(backupFile, target);
    assert.equal(first.code, 0, describeRun(first));
    const database = join(target, 'keyhold.db');
    const before = createHash('sha256').update(readFileSync(database)).digest('hex');
    assertOneLineFailure(await restore(backupFile, target), /the target database is not empty \(table \w+ has rows\); pass --force/);
    assert.equal(createHash('sha256').update(readFileSync(database)).digest('hex'), before);
    const forced = await restore(backupFile, target, ['--force']);
    assert.equal(forced.code, 0, describeRun(forced));
  });

  it('the passphrase never comes from a flag, and a missing one is one line', async () => {
    const flag = await keyhold(['--data-dir', source, 'backup', 'create', '--out', join(work, 'x.khb'), '--passphrase', 'secret123'], {
      cwd: work,
    });
    assert.equal(flag.code, 2, describeRun(flag));
    assert.match(flag.stderr, /unknown option '--passphrase'/);
    const none = await keyhold(['--data-dir', source, 'backup', 'create', '--out', join(work, 'x.khb')], { cwd: work });
    assertOneLineFailure(none, /--passphrase-file/);
    assert.equal(existsSync(join(work, 'x.khb')), false);
  });
});
