/**
 * `keyhold init --shares N --threshold M`, a sealed `keyhold serve`, and `keyhold unseal`, end to end
 * with the real CLI as child processes.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BIN,
  bash,
  describeRun,
  ekmHealth,
  failureLine,
  keyhold,
  keyholdWithInput,
  ok,
  parseJsonOutput,
  readKmsConsole,
  serveForSuite,
  tempDir,
  xksCall,
  type RunResult,
} from './helpers.js';

const sharesIn = (stdout: string) => [...stdout.matchAll(/custodian\s+\d+: (khs1-\d+-[A-Za-z0-9_-]+)/g)].map((m) => m[1]!);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('keyhold init --shares N --threshold M', () => {
  const cwd = tempDir('shamir-init');

  it('refuses bad counts with one line and creates nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--shares', '3', '--threshold', '1'], /a threshold of 1 would let any single custodian unseal the node alone/],
      [['--shares', '2', '--threshold', '3'], /--shares \(2\) must be at least --threshold \(3\)/],
      [['--shares', '300', '--threshold', '2'], /at most 255/],
      [['--shares', '3'], /give both --shares N and --threshold M/],
      [['--threshold', '2'], /give both --shares N and --threshold M/],
      [['--shares', 'three', '--threshold', '2'], /--shares must be a whole number/],
    ];
    for (const [args, reason] of cases) {
      const result = await keyhold(['init', '--data-dir', 'state', ...args], { cwd });
      assert.match(failureLine(result), reason, args.join(' '));
      assert.ok(!existsSync(join(cwd, 'state')), `nothing created for ${args.join(' ')}`);
    }
  });

  it('prints N shares once with a warning and the sealed-start explanation; stores no share and no master key', async () => {
    const result = ok(await keyhold(['init', '--data-dir', 'state', '--shares', '4', '--threshold', '3'], { cwd }));
    const shares = sharesIn(result.stdout);
    assert.equal(shares.length, 4, result.stdout);
    assert.equal(new Set(shares).size, 4);
    assert.match(result.stdout, /any 3 of them unseal the node/);
    assert.match(result.stdout, /WARNING: the shares are shown only now and are stored nowhere/);
    assert.match(result.stdout, /The node starts sealed/);
    const dataDir = join(cwd, 'state');
    assert.ok(!existsSync(join(dataDir, 'master.key')), 'no master key file in Shamir mode');
    assert.equal(statSync(join(dataDir, 'credential.key')).mode & 0o777, 0o600);
    const root = JSON.parse(readFileSync(join(dataDir, 'root.json'), 'utf8')) as { kind: string; shares: number; threshold: number };
    assert.deepEqual({ kind: root.kind, shares: root.shares, threshold: root.threshold }, { kind: 'shamir', shares: 4, threshold: 3 });
    for (const file of filesUnder(dataDir)) {
      const bytes = readFileSync(file);
      for (const share of shares) {
        assert.equal(bytes.indexOf(share), -1, `share in ${file}`);
        assert.equal(bytes.indexOf(Buffer.from(share.split('-').slice(2).join('-'), 'base64url')), -1, `share bytes in ${file}`);
      }
    }
  });
});

describe('a sealed keyhold serve and keyhold unseal', () => {
  let shares: string[] = [];
  let foreignShare = '';
  const suite = serveForSuite('shamir-serve', {
    prepare: async (cwd) => {
      shares = sharesIn(ok(await keyhold(['init', '--data-dir', 'data', '--shares', '3', '--threshold', '2'], { cwd })).stdout);
      [foreignShare = ''] = sharesIn(
        ok(await keyhold(['init', '--data-dir', 'other', '--shares', '3', '--threshold', '2', '--no-demo'], { cwd })).stdout,
      );
    },
  });
  const { cwd } = suite;
  const cli = (...args: string[]) => keyhold(['--data-dir', 'data', ...args], { cwd });
  const pipeShare = (share: string) => keyholdWithInput(share, ['--data-dir', 'data', 'unseal'], { cwd });

  it('serve says the node is sealed and how to unseal; KMS gets health UNAVAILABLE and the sealed error', async () => {
    await suite.node.waitForStdout(/The node is SEALED: it serves no crypto and reports UNAVAILABLE until 2 of 3 custodians/);
    assert.match(suite.node.stdout(), /keyhold unseal/);
    const { uriPath, credential } = readKmsConsole(suite.node.dataDir);
    const health = await xksCall(suite.node, { uriPath, operation: 'health', credential });
    assert.equal(health.status, 200, health.text);
    assert.equal(ekmHealth(health), 'UNAVAILABLE');
    const encrypt = await xksCall(suite.node, { uriPath, operation: 'encrypt', keyId: 'demo-key', credential });
    assert.equal(encrypt.status, 500);
    assert.equal(encrypt.json?.errorMessage, 'The external key manager is sealed; it needs to be unsealed by its key custodians');
  });

  it('unseal --status reports progress', async () => {
    assert.equal(ok(await cli('unseal', '--status')).stdout, 'sealed: 0 of 2 shares entered (3 exist)\n');
    const json = parseJsonOutput<{ sealed: boolean; threshold: number; shares: number; entered: number }>(
      ok(await cli('--json', 'unseal', '--status')),
    );
    assert.deepEqual([json.sealed, json.threshold, json.shares, json.entered], [true, 2, 3, 0]);
  });

  it('echo SHARE | keyhold unseal enters one share and says the progress', async () => {
    const result = await pipeShare(shares[1]!);
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(result.stdout, 'sealed: 1 of 2 shares entered (3 exist)\n');
    assert.equal(result.stderr, '');
  });

  it('each bad share fails with one line and changes no progress', async () => {
    const statusBefore = ok(await cli('unseal', '--status')).stdout;
    const typo = shares[0]!.slice(0, 12) + (shares[0]![12] === 'a' ? 'b' : 'a') + shares[0]!.slice(13);
    const cases: [string, () => Promise<RunResult>, RegExp][] = [
      ['not a share', () => pipeShare('hello'), /keyhold: this is not a Keyhold share/],
      ['a typo', () => pipeShare(typo), /fails its checksum: it was mistyped or changed/],
      ['a share of another init', () => pipeShare(foreignShare), /belongs to another Keyhold init/],
      ['the same share again', () => pipeShare(shares[1]!), /share 2 was already entered/],
      ['nothing on stdin', () => bash('node "$BIN" --data-dir data unseal </dev/null', { cwd, env: { BIN: BIN } }), /no share given/],
      ['--status and --reset', () => cli('unseal', '--status', '--reset'), /give --status or --reset, not both/],
    ];
    for (const [label, run, reason] of cases) {
      assert.match(failureLine(await run()), reason, label);
      assert.equal(ok(await cli('unseal', '--status')).stdout, statusBefore, `progress unchanged after ${label}`);
    }
  });

  it('unseal --reset discards the entered share; in a terminal, unseal prompts without echoing the share', async () => {
    assert.equal(ok(await cli('unseal', '--reset')).stdout, 'sealed: 0 of 2 shares entered (3 exist)\n');
    // `script` gives the command a pseudo-terminal; the share is typed into it after the prompt appears.
    // The share is typed only once the prompt shows, so a terminal still echoing would show it.
    const typeAfterPrompt = `until grep -q 'input hidden' "$OUT" 2>/dev/null; do sleep 0.05; done; printf '%s\\r' "$SHARE"; sleep 2`;
    const result = await bash(
      `OUT=$(mktemp); (${typeAfterPrompt}) | script -qfec 'node "$BIN" --data-dir data unseal' /dev/null > "$OUT"; code=$?; cat "$OUT"; rm -f "$OUT"; exit $code`,
      {
        cwd,
        env: { SHARE: shares[0]!, BIN },
      },
    );
    assert.equal(result.code, 0, describeRun(result));
    assert.match(result.stdout, /Share \(input hidden\): /);
    assert.match(result.stdout, /sealed: 1 of 2 shares entered \(3 exist\)/);
    assert.ok(!result.stdout.includes(shares[0]!), `the share was echoed:\n${result.stdout}`);
  });

  it('the threshold-th share unseals the running node: health ACTIVE, Encrypt serves, key create works', async () => {
    const result = await pipeShare(shares[2]!);
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(result.stdout, 'unsealed: 2 of 3 shares reconstructed the master key; the node serves\n');
    const { uriPath, credential } = readKmsConsole(suite.node.dataDir);
    const health = await xksCall(suite.node, { uriPath, operation: 'health', credential });
    assert.equal(ekmHealth(health), 'ACTIVE');
    const encrypt = await xksCall(suite.node, { uriPath, operation: 'encrypt', keyId: 'demo-key', credential });
    assert.equal(encrypt.status, 200, encrypt.text);
    ok(await cli('key', 'create', 'after-unseal', '--keystore', 'demo'));
    assert.match(failureLine(await pipeShare(shares[0]!)), /already unsealed/);
    assert.match(ok(await cli('unseal', '--status')).stdout, /^unsealed/);
  });

  it('the shares appear nowhere in the data directory or the node output', () => {
    for (const file of filesUnder(suite.node.dataDir)) {
      const bytes = readFileSync(file);
      for (const share of shares) assert.equal(bytes.indexOf(share), -1, `share in ${file}`);
    }
    for (const share of shares)
      assert.ok(!suite.node.stdout().includes(share) && !suite.node.stderr().includes(share), 'share in the node output');
  });
});
