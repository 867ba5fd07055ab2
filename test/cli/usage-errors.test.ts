/**
 * Commander's own usage errors (unknown option or command, missing argument or option, a bad option value,
 * too many arguments) fail like every other command: one `keyhold: …` line on stderr, nothing on stdout,
 * exit 2, nothing created. Help and --version still print to stdout and exit 0.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { failureLine, keyhold, ok, removeTempDirs, tempDir } from './helpers.js';

after(removeTempDirs);

describe('usage errors are one "keyhold: " line and exit 2', { concurrency: 4 }, () => {
  const cases: [label: string, args: string[], line: RegExp][] = [
    ['unknown option before the command', ['--jsn', 'key', 'list'], /^keyhold: unknown option '--jsn' \(Did you mean --json\?\)$/],
    ['unknown option after the command', ['key', 'list', '--colour'], /^keyhold: unknown option '--colour'$/],
    ['unknown command', ['frobnicate'], /^keyhold: unknown command 'frobnicate'$/],
    ['unknown subcommand', ['keystore', 'credential', 'rotate'], /^keyhold: unknown command 'rotate'$/],
    ['missing argument', ['key', 'versions'], /^keyhold: missing required argument 'id'$/],
    ['missing required option', ['key', 'create', 'k1'], /^keyhold: required option '--keystore <name>' not specified$/],
    ['option without its value', ['--url'], /^keyhold: option '--url <url>' argument missing$/],
    [
      'invalid option value',
      ['serve', '--port', 'x'],
      /^keyhold: option '--port <port>' argument 'x' is invalid\. must be a port number 0-65535$/,
    ],
    ['too many arguments', ['key', 'show', 'a', 'b'], /^keyhold: too many arguments for 'show'\. Expected 1 argument but got 2\.$/],
  ];
  for (const [label, args, line] of cases) {
    it(`${label}: keyhold ${args.join(' ')}`, async () => {
      const cwd = tempDir('usage');
      const result = await keyhold(args, { cwd });
      assert.match(failureLine(result), line);
      assert.equal(result.code, 2);
      assert.deepEqual(readdirSync(cwd), [], 'nothing created');
    });
  }

  it('--help and --version still print to stdout and exit 0', async () => {
    const cwd = tempDir('usage');
    assert.match(ok(await keyhold(['key', '--help'], { cwd })).stdout, /^Usage: keyhold key \[options\] \[command\]/);
    assert.match(ok(await keyhold(['--version'], { cwd })).stdout, /^\d+\.\d+\.\d+/);
  });
});
