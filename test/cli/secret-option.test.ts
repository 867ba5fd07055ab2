/**
 * The shared reader of secret options (src/cli/secret-option.ts): a secret comes from --<name>-file,
 * --<name>-stdin or an environment variable; the plain flag is refused with a one-line hint.
 * The command-line paths of the real commands are in keystore.test.ts, doctor.test.ts and access.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { CliError } from '../../src/cli/cli-error.js';
import {
  addSecretOptions,
  databaseUrlOption,
  processSecretInput,
  readSecretOption,
  type SecretInput,
  type SecretOptionSpec,
} from '../../src/cli/secret-option.js';

const SPEC: SecretOptionSpec = { name: 'secret', env: 'TEST_SECRET', what: 'test secret' };
const dir = mkdtempSync(join(tmpdir(), 'keyhold-secret-option-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Parses ARGS with a command that has the secret options, and reads the secret from INPUT. */
async function read(args: string[], input: Partial<SecretInput> = {}, spec = SPEC): Promise<string | undefined> {
  const command = addSecretOptions(new Command('t').exitOverride(), spec);
  command.parse(args, { from: 'user' });
  return readSecretOption(command.opts(), spec, {
    ...processSecretInput,
    env: {},
    readStdin: () => Promise.reject(new Error('stdin must not be read')),
    ...input,
  });
}

function assertCliError(pattern: RegExp, exitCode: number) {
  return (error: unknown) => {
    assert.ok(error instanceof CliError, String(error));
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/, 'one line');
    assert.equal(error.exitCode, exitCode);
    return true;
  };
}

describe('secret options: file, stdin, environment, never the command line', () => {
  it('--secret-file FILE reads the first line of the file, without its line ending', async () => {
    const file = join(dir, 'secret');
    writeFileSync(file, 's3cr3t-from-file\r\nsecond line ignored\n', { mode: 0o600 });
    assert.equal(await read(['--secret-file', file]), 's3cr3t-from-file');
  });

  it('--secret-stdin reads the first line of stdin (prompting with what the secret is)', async () => {
    let prompt = '';
    const value = await read(['--secret-stdin'], {
      readStdin: (text) => {
        prompt = text;
        return Promise.resolve('s3cr3t-from-stdin');
      },
    });
    assert.equal(value, 's3cr3t-from-stdin');
    assert.equal(prompt, 'test secret: ');
  });

  it('the environment variable is read when neither a file nor stdin is named; nothing at all gives undefined', async () => {
    assert.equal(await read([], { env: { TEST_SECRET: 's3cr3t-from-env' } }), 's3cr3t-from-env');
    assert.equal(await read([], { env: { TEST_SECRET: '' } }), undefined);
    assert.equal(await read([]), undefined);
  });

  it('a file or stdin wins over the environment', async () => {
    const file = join(dir, 'wins');
    writeFileSync(file, 'from-file\n');
    assert.equal(await read(['--secret-file', file], { env: { TEST_SECRET: 'from-env' } }), 'from-file');
    assert.equal(await read(['--secret-stdin'], { env: { TEST_SECRET: 'from-env' }, readStdin: () => Promise.resolve('in') }), 'in');
  });

  it('the plain flag is refused (exit 2) with a hint naming the file, stdin and the variable, and the secret is not echoed', async () => {
    await assert.rejects(
      read(['--secret', 'typed-secret-value']),
      assertCliError(
        /^--secret on the command line shows in ps and shell history; use --secret-file FILE, --secret-stdin or \$TEST_SECRET$/,
        2,
      ),
    );
    await assert.rejects(read(['--secret=typed-secret-value'], { env: { TEST_SECRET: 'x' } }), (error: Error) => {
      assert.ok(!error.message.includes('typed-secret-value'));
      return true;
    });
  });

  it('a missing or empty file, an empty stdin line and both --secret-file and --secret-stdin are refused in one line', async () => {
    await assert.rejects(
      read(['--secret-file', join(dir, 'missing')]),
      assertCliError(/cannot read the test secret from .*missing \(ENOENT\)$/, 1),
    );
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    await assert.rejects(read(['--secret-file', empty]), assertCliError(/empty \(it should hold the test secret\)$/, 1));
    await assert.rejects(
      read(['--secret-stdin'], { readStdin: () => Promise.resolve('') }),
      assertCliError(/^no test secret on stdin$/, 1),
    );
    await assert.rejects(
      read(['--secret-file', empty, '--secret-stdin']),
      assertCliError(/^give one of --secret-file and --secret-stdin, not both$/, 2),
    );
  });

  it('multi-word names keep their dashes in flags and camelCase in parsed options (--admin-password-file)', async () => {
    const spec = { name: 'admin-password', env: 'TEST_PW', what: 'password' };
    const file = join(dir, 'pw');
    writeFileSync(file, 'pw-from-file\n');
    assert.equal(await read(['--admin-password-file', file], {}, spec), 'pw-from-file');
    await assert.rejects(read(['--admin-password', 'x'], {}, spec), assertCliError(/^--admin-password on the command line/, 2));
  });
});

describe('--database-url never carries a password on the command line', () => {
  it('a URL with a password is refused with the places it can go instead; without one it passes; the environment is not checked', () => {
    assert.throws(
      () => databaseUrlOption('postgres://keyhold:hunter2@db.internal/keyhold', {}),
      assertCliError(/^--database-url carries a password, .* \$KEYHOLD_DATABASE_URL, or the password in \$PGPASSWORD or ~\/\.pgpass$/, 2),
    );
    assert.equal(databaseUrlOption('postgres://keyhold@db.internal/keyhold', {}), 'postgres://keyhold@db.internal/keyhold');
    const fromEnv = 'postgres://keyhold:hunter2@db.internal/keyhold';
    assert.equal(databaseUrlOption(undefined, { KEYHOLD_DATABASE_URL: fromEnv }), fromEnv);
  });
});
