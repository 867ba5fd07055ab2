/**
 * Every command's --json output is for scripts: stdout is one JSON document of plain values (notes for
 * people go to stderr as `note: …` lines), and the values work as printed. Each test parses the output
 * with JSON.parse and uses it: the token authenticates, the secret signs XKS requests, the shares unseal,
 * the ids name what the next command acts on. The last test checks that every command of the CLI was run
 * here (serve excepted: its output is a banner and the node's log).
 *
 * One node, set up by `keyhold init --json --shares 2 --threshold 2` and unsealed with the printed shares.
 * Over 300 lines on purpose: the tests are one story on that node (what one command prints, the next one
 * uses), and the coverage check at the end needs them all in one file.
 */
import assert from 'node:assert/strict';
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { createScratchDatabase } from '../helpers/postgres.js';
import {
  describeRun,
  ekmHealth,
  keyhold,
  keyholdWithInput,
  kmsConsoleTarget,
  parseJsonOutput,
  serveForSuite,
  tempDir,
  xksCall,
  type Credential,
  type RunResult,
  type XksTarget,
} from './helpers.js';

interface InitJson {
  dataDir: string;
  adminTokenFile: string;
  demo: {
    keystore: string;
    uriPath: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    kmsConsoleFile: string;
    keyId: string;
  };
  unseal: { threshold: number; shares: string[] };
}
interface UnsealJson {
  sealed: boolean;
  entered?: number;
}
interface KeystoreJson {
  name: string;
  uriPath: string;
  region: string;
  status: string;
  blockReason?: string;
  quota?: { rps: number; burst: number };
  credentials: { accessKeyId: string; createdAt: string }[];
}
interface CreatedKeystoreJson {
  keystore: string;
  uriPath: string;
  region: string;
  group: string;
  accessKeyId: string;
  secretAccessKey?: string;
}
interface KeyJson {
  id: string;
  usage: string[];
  status: string;
  blockReason?: string;
  currentVersion: number;
  minDecryptVersion: number;
  rotationPeriodDays?: number;
  description: string;
  tags: Record<string, string>;
}
interface VersionJson {
  key?: string;
  version: number;
  state: string;
  current: boolean;
}
interface PolicyJson {
  name: string;
  mode: string;
  attach?: Record<string, string>;
  rules: { id: string; effect: string }[];
}
interface UserJson {
  name: string;
  roles: string[];
  disabled: boolean;
}
interface TokenJson {
  id: string;
  name: string;
  role?: string;
  status: string;
  token?: string;
}
interface ApprovalJson {
  id: string;
  operation: string;
  status: string;
  approvals: { user: string }[];
}
interface AuditEventJson {
  seq: number;
  chain: string;
  keyId: string | null;
  keystore: string | null;
  action: string;
  hash: string;
}

const configDir = tempDir('json-config');
const env = { KEYHOLD_CONFIG_DIR: configDir };
let init: InitJson;
let initRun: RunResult;
const suite = serveForSuite('json', {
  env,
  prepare: async (cwd) => {
    initRun = await keyhold(['--json', 'init', '--data-dir', 'data', '--shares', '2', '--threshold', '2'], { cwd, env });
    init = parseJsonOutput<InitJson>(initRun);
  },
});

// ---------------------------------------------------------------------------------------------------
// Running commands with --json, and which commands ran

const program = buildProgram();
const covered = new Set<string>();

/** The command an argument list runs (`keystore credential add`), skipping flags and their values before it. */
function commandPath(args: readonly string[]): string {
  let command: Command = program;
  const names: string[] = [];
  for (const arg of args) {
    const sub = command.commands.find((c) => c.name() === arg);
    if (sub) {
      command = sub;
      names.push(arg);
      if (sub.commands.length === 0) return names.join(' ');
    }
  }
  throw new Error(`no command in ${args.join(' ')}`);
}

/** Every leaf command of the CLI, e.g. `keystore credential add`. */
function leafCommands(command: Command = program, prefix: string[] = []): string[] {
  return command.commands.flatMap((sub) =>
    sub.commands.length === 0 ? [[...prefix, sub.name()].join(' ')] : leafCommands(sub, [...prefix, sub.name()]),
  );
}

/** Nothing in a JSON document may be a value with a note glued on (`kh_…   (shown once)`, `(as given)`). */
function assertPlainValues(value: unknown, where: string): void {
  if (typeof value === 'string') assert.doesNotMatch(value, /\s{2}\(|^\(as given\)$|\(shown once\)/, `a plain value at ${where}`);
  else if (Array.isArray(value)) value.forEach((entry, i) => assertPlainValues(entry, `${where}[${i}]`));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) assertPlainValues(v, `${where}.${k}`);
}

/** Stderr of a successful --json command holds notes for people only. */
function assertOnlyNotes(result: RunResult): void {
  for (const line of result.stderr.split('\n').filter(Boolean)) assert.match(line, /^note: /, describeRun(result));
}

function parsed<T>(args: readonly string[], result: RunResult): T {
  covered.add(commandPath(args));
  const value = parseJsonOutput<T>(result);
  assertOnlyNotes(result);
  assertPlainValues(value, args.join(' '));
  return value;
}

/** `keyhold --json ARGS`: the parsed document (the command is counted as covered). */
const json = async <T>(...args: string[]) => parsed<T>(args, await suite.cli('--json', ...args));
/** The same, with `input` as the first line of stdin (a password, a share). */
const jsonWithInput = async <T>(input: string, ...args: string[]) =>
  parsed<T>(args, await keyholdWithInput(input, ['--json', ...args], { cwd: suite.cwd, env }));

const health = (target: XksTarget, region?: string) =>
  xksCall(suite.node, { ...target, operation: 'health', ...(region ? { region } : {}) });
const encrypt = (target: XksTarget, keyId: string) => xksCall(suite.node, { ...target, operation: 'encrypt', keyId });
const metadata = (target: XksTarget, keyId: string) => xksCall(suite.node, { ...target, operation: 'metadata', keyId });
const demoTarget = (): XksTarget => ({
  uriPath: init.demo.uriPath,
  credential: { accessKeyId: init.demo.accessKeyId, secret: init.demo.secretAccessKey },
});

async function assertServes(target: XksTarget, region?: string): Promise<void> {
  const response = await health(target, region);
  assert.equal(response.status, 200, response.text);
  assert.equal(ekmHealth(response), 'ACTIVE');
}

// ---------------------------------------------------------------------------------------------------

describe('init and unseal', () => {
  it('init --json: the shares unseal the node and the demo credential signs XKS requests, as printed', async () => {
    covered.add('init');
    assertOnlyNotes(initRun);
    assertPlainValues(init, 'init');
    assert.match(initRun.stderr, /^note: demo\.secretAccessKey: shown only now/m);
    assert.match(initRun.stderr, /^note: unseal\.shares: shown only now and stored nowhere/m);
    assert.equal(init.dataDir, suite.node.dataDir);
    assert.ok(existsSync(init.adminTokenFile));
    assert.deepEqual(kmsConsoleTarget(JSON.parse(readFileSync(init.demo.kmsConsoleFile, 'utf8'))), demoTarget());
    assert.equal(init.unseal.shares.length, 2);

    const sealed = await json<UnsealJson>('unseal', '--status');
    assert.deepEqual([sealed.sealed, sealed.entered], [true, 0]);
    const [first = '', second = ''] = init.unseal.shares;
    assert.equal((await jsonWithInput<UnsealJson>(first, 'unseal')).entered, 1);
    assert.equal((await jsonWithInput<UnsealJson>(second, 'unseal')).sealed, false);
    await assertServes(demoTarget(), init.demo.region);
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).status, 200);
  });

  it('hsm status --json reports the state GetHealthStatus reports', async () => {
    const status = await json<{ rootOfTrust: string; state?: string; ekmHealth: string }>('hsm', 'status');
    assert.equal(status.ekmHealth, ekmHealth(await health(demoTarget())));
  });

  it('doctor --json: every check passed, for the target it names', async () => {
    const report = await jsonWithInput<{ target: string; ok: boolean; checks: { name: string; ok: boolean }[] }>(
      init.demo.secretAccessKey,
      'doctor',
      '--endpoint',
      `https://localhost:${suite.node.port}`,
      '--prefix',
      '/demo',
      '--access-key-id',
      init.demo.accessKeyId,
      '--secret-stdin',
      '--key',
      init.demo.keyId,
      '--ca',
      'data/tls/cert.pem',
      '--timeout-ms',
      '5000',
    );
    assert.equal(report.target, `https://localhost:${suite.node.port}${init.demo.uriPath}`);
    assert.deepEqual(
      report.checks.filter((check) => !check.ok),
      [],
    );
    assert.equal(report.ok, true);
  });
});

describe('keystores', () => {
  let acme: XksTarget;
  let added: Credential;
  const MIGRATED: Credential = { accessKeyId: 'JSONMIGRATEDKEYID234567AB', secret: 'bWlncmF0ZWQtc2VjcmV0LWZvci10aGUtanNvbi10ZXN0cw==' };

  it('keystore create --json: the secret is the plain value (the note on stderr), and it signs XKS requests', async () => {
    const created = await json<CreatedKeystoreJson>('keystore', 'create', 'acme', '--prefix', '/acme', '--region', 'eu-west-1');
    assert.ok(created.secretAccessKey);
    acme = { uriPath: created.uriPath, credential: { accessKeyId: created.accessKeyId, secret: created.secretAccessKey } };
    await assertServes(acme, created.region);
  });

  it('keystore create --json with a migrated secret leaves the secret out; the migrated credential works', async () => {
    const created = await jsonWithInput<CreatedKeystoreJson>(
      MIGRATED.secret,
      'keystore',
      'create',
      'mig',
      '--prefix',
      '/mig',
      '--access-key-id',
      MIGRATED.accessKeyId,
      '--secret-stdin',
    );
    assert.equal('secretAccessKey' in created, false);
    await assertServes({ uriPath: created.uriPath, credential: { accessKeyId: created.accessKeyId, secret: MIGRATED.secret } });
  });

  it('keystore list / show --json carry the API view: uri paths and credential ids that work', async () => {
    const listed = await json<KeystoreJson[]>('keystore', 'list');
    const fromList = listed.find((k) => k.name === 'acme');
    assert.ok(fromList);
    assert.equal(fromList.quota, undefined);
    const shown = await json<KeystoreJson>('keystore', 'show', 'acme');
    assert.deepEqual(shown, fromList);
    assert.deepEqual(
      shown.credentials.map((c) => c.accessKeyId),
      [acme.credential.accessKeyId],
    );
    await assertServes({ uriPath: shown.uriPath, credential: acme.credential }, shown.region);
  });

  it('keystore credential add / remove --json: the added secret works; the removed id then fails', async () => {
    const credential = await json<{ keystore: string; accessKeyId: string; secretAccessKey: string }>(
      'keystore',
      'credential',
      'add',
      'acme',
    );
    added = { accessKeyId: credential.accessKeyId, secret: credential.secretAccessKey };
    await assertServes({ uriPath: acme.uriPath, credential: added }, 'eu-west-1');
    const removed = await json<{ keystore: string; removedAccessKeyId: string }>(
      'keystore',
      'credential',
      'remove',
      'acme',
      acme.credential.accessKeyId,
    );
    const refused = await health(
      { uriPath: acme.uriPath, credential: { ...acme.credential, accessKeyId: removed.removedAccessKeyId } },
      'eu-west-1',
    );
    assert.equal(refused.status, 401, refused.text);
    acme = { uriPath: acme.uriPath, credential: added };
  });

  it('keystore kms-json prints the console file; its credential works', async () => {
    const target = kmsConsoleTarget(await json<unknown>('keystore', 'kms-json', 'acme'));
    assert.deepEqual(target, acme);
    await assertServes(target, 'eu-west-1');
  });

  it('keystore quota --json: the quota as numbers, enforced; --off gives null and lifts it', async () => {
    const set = await json<{ keystore: string; quota: { rps: number; burst: number } }>(
      'keystore',
      'quota',
      'acme',
      '--rps',
      '0.001',
      '--burst',
      '1',
    );
    assert.deepEqual(set.quota, { rps: 0.001, burst: 1 });
    assert.equal((await health(acme, 'eu-west-1')).status, 200);
    assert.equal((await health(acme, 'eu-west-1')).status, 429);
    assert.equal((await json<{ quota: null }>('keystore', 'quota', 'acme', '--off')).quota, null);
    await assertServes(acme, 'eu-west-1');
  });

  it('keystore disable / enable / block / unblock --json: the status printed is the status XKS applies', async () => {
    assert.equal((await json<{ status: string }>('keystore', 'disable', 'acme')).status, 'DISABLED');
    assert.notEqual((await health(acme, 'eu-west-1')).status, 200);
    assert.equal((await json<{ status: string }>('keystore', 'enable', 'acme')).status, 'ENABLED');
    await assertServes(acme, 'eu-west-1');
    const blocked = await json<{ status: string; blockReason: string }>('keystore', 'block', 'demo', '--reason', 'json test');
    assert.deepEqual([blocked.status, blocked.blockReason], ['BLOCKED', 'json test']);
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).json?.errorName, 'InvalidStateException');
    assert.equal((await json<{ status: string }>('keystore', 'unblock', 'demo')).status, 'ENABLED');
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).status, 200);
  });
});

describe('keys', () => {
  it('key create / list / show --json: the usage printed is the usage GetKeyMetadata reports', async () => {
    const created = await json<KeyJson>('key', 'create', 'j-enc', '--keystore', 'demo', '--usage', 'ENCRYPT', '--tag', 'team=json');
    assert.deepEqual(created.tags, { team: 'json' });
    assert.deepEqual((await metadata(demoTarget(), created.id)).json?.keyUsage, created.usage);
    const listed = await json<KeyJson[]>('key', 'list', '--keystore', 'demo');
    assert.deepEqual(
      listed.find((k) => k.id === created.id),
      created,
    );
    assert.deepEqual(await json<KeyJson>('key', 'show', created.id), created);
  });

  it('key disable / enable / block / unblock / schedule-deletion / cancel-deletion --json: the status printed is applied', async () => {
    const key = 'j-enc';
    const status = async (...args: string[]) => (await json<KeyJson>('key', ...args)).status;
    const keyStatus = async () => (await metadata(demoTarget(), key)).json?.keyStatus;
    assert.equal(await status('disable', key), 'DISABLED');
    assert.equal(await keyStatus(), 'DISABLED');
    assert.equal(await status('enable', key), 'ENABLED');
    assert.equal(await keyStatus(), 'ENABLED');
    const blocked = await json<KeyJson>('key', 'block', key, '--reason', 'json test');
    assert.deepEqual([blocked.status, blocked.blockReason], ['BLOCKED', 'json test']);
    assert.equal((await encrypt(demoTarget(), key)).json?.errorName, 'InvalidStateException');
    assert.equal(await status('unblock', key), 'ENABLED');
    assert.equal((await encrypt(demoTarget(), key)).status, 200);
    assert.equal(await status('schedule-deletion', key, '--days', '7'), 'PENDING_DELETION');
    assert.equal((await encrypt(demoTarget(), key)).json?.errorName, 'InvalidStateException');
    assert.equal(await status('cancel-deletion', key), 'DISABLED');
    assert.equal(await status('enable', key), 'ENABLED');
  });

  it('key rotate / versions / set-rotation / set-min-decrypt-version / revoke-version / destroy-version / tag / describe --json', async () => {
    const key = 'j-enc';
    const rotated = await json<KeyJson>('key', 'rotate', key);
    assert.equal(rotated.currentVersion, 2);
    const answer = await encrypt(demoTarget(), key);
    assert.equal(Buffer.from(answer.json?.ciphertextMetadata ?? '', 'base64').readUInt32BE(1), rotated.currentVersion);
    const versions = await json<VersionJson[]>('key', 'versions', key);
    assert.deepEqual(
      versions.filter((v) => v.current).map((v) => v.version),
      [rotated.currentVersion],
    );
    assert.equal((await json<KeyJson>('key', 'set-rotation', key, '--days', '90')).rotationPeriodDays, 90);
    const oldest = versions.find((v) => !v.current)?.version ?? 0;
    const revoked = await json<VersionJson>('key', 'revoke-version', key, String(oldest));
    assert.deepEqual([revoked.key, revoked.version, revoked.state], [key, oldest, 'REVOKED']);
    assert.equal((await json<VersionJson>('key', 'destroy-version', key, String(revoked.version), '--yes')).state, 'DESTROYED');
    assert.equal((await json<KeyJson>('key', 'set-min-decrypt-version', key, String(rotated.currentVersion))).minDecryptVersion, 2);
    assert.deepEqual((await json<KeyJson>('key', 'tag', key, 'env=test', '--remove', 'team')).tags, { env: 'test' });
    assert.equal((await json<KeyJson>('key', 'describe', key, 'json output test')).description, 'json output test');
  });

  it('key import-wrapping-key / import --json: the printed public key wraps key material the import accepts', async () => {
    const wrapping = await json<{ wrappingKeyId: string; publicKeyPem: string }>('key', 'import-wrapping-key');
    const wrapped = publicEncrypt(
      { key: wrapping.publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      randomBytes(32),
    );
    const file = join(suite.cwd, 'wrapped.bin');
    writeFileSync(file, wrapped);
    const imported = await json<KeyJson>(
      'key',
      'import',
      'j-byok',
      '--keystore',
      'demo',
      '--wrapping-key-id',
      wrapping.wrappingKeyId,
      '--wrapped-key-file',
      file,
    );
    assert.equal(imported.status, 'ENABLED');
    assert.equal((await encrypt(demoTarget(), imported.id)).status, 200);
  });
});

describe('policies and the kill switch', () => {
  const CLI_TEST = 'arn:aws:iam::111122223333:role/cli-test';
  const denyCliTest = (name: string, mode = 'enforce') => {
    const file = join(suite.cwd, `${name}-${mode}.json`);
    writeFileSync(file, JSON.stringify({ name, mode, rules: [{ id: 'no-cli-test', effect: 'deny', principal: [CLI_TEST] }] }));
    return file;
  };

  it('policy create / show / list / update / attach / detach / delete --json: what they print is what XKS enforces', async () => {
    const created = await json<PolicyJson>('policy', 'create', '--file', denyCliTest('j-lock'));
    assert.equal(created.attach, undefined);
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).status, 200);
    const attached = await json<PolicyJson>('policy', 'attach', created.name, '--keystore', 'demo');
    assert.deepEqual(attached.attach, { keystore: 'demo' });
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).status, 403);
    assert.deepEqual(await json<PolicyJson>('policy', 'show', created.name), attached);
    assert.deepEqual(
      (await json<PolicyJson[]>('policy', 'list')).map((p) => p.name),
      [created.name],
    );
    const simulated = await json<{ allowed: boolean; decidedBy: string }>(
      'policy',
      'simulate',
      '--keystore',
      'demo',
      '--key',
      init.demo.keyId,
      '--principal',
      CLI_TEST,
    );
    assert.deepEqual([simulated.allowed, simulated.decidedBy], [false, `${created.name}/${attached.rules[0]?.id}`]);
    assert.equal(
      (await json<PolicyJson>('policy', 'update', created.name, '--file', denyCliTest('j-lock', 'audit-only'))).mode,
      'audit-only',
    );
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).status, 200);
    assert.equal((await json<PolicyJson>('policy', 'update', created.name, '--file', denyCliTest('j-lock'))).mode, 'enforce');
    assert.equal((await json<PolicyJson>('policy', 'detach', created.name)).attach, undefined);
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).status, 200);
    assert.deepEqual(await json<{ deletedPolicy: string }>('policy', 'delete', created.name), { deletedPolicy: created.name });
    assert.deepEqual(await json<PolicyJson[]>('policy', 'list'), []);
  });

  it('policy set-default / defaults --json', async () => {
    const set = await json<{ group: string; default: string }>('policy', 'set-default', '--group', 'demo', 'deny');
    assert.deepEqual([set.group, set.default], ['demo', 'deny']);
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).status, 403);
    const defaults = await json<{ group: string; default: string }[]>('policy', 'defaults');
    assert.equal(defaults.find((d) => d.group === 'demo')?.default, 'deny');
    await json('policy', 'set-default', '--group', 'demo', 'allow');
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).status, 200);
  });

  it('kill-switch on / status / off --json', async () => {
    const on = await json<{ killSwitch: string; reason: string; since: string }>('kill-switch', 'on', '--reason', 'json drill');
    assert.deepEqual([on.killSwitch, on.reason], ['on', 'json drill']);
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).json?.errorName, 'InvalidStateException');
    assert.deepEqual(await json('kill-switch', 'status'), on);
    assert.equal((await json<{ killSwitch: string }>('kill-switch', 'off')).killSwitch, 'off');
    assert.equal((await encrypt(demoTarget(), init.demo.keyId)).status, 200);
  });

  it('fleet status --json: this one node, live, polling the change sequence (SQLite)', async () => {
    const view = await json<{ live: number; gone: number; nodes: { self: boolean; state: string; propagation: { mode: string } }[] }>(
      'fleet',
      'status',
    );
    assert.deepEqual([view.live, view.gone], [1, 0]);
    assert.deepEqual(
      view.nodes.map((n) => [n.self, n.state, n.propagation.mode]),
      [[true, 'live', 'poll']],
    );
  });
});

describe('users, tokens, login and approvals', () => {
  const PASSWORD = 'alice has a long json password';
  let annToken = '';

  it('user create / list / show / set-roles / disable / enable / passwd --json', async () => {
    const alice = await jsonWithInput<UserJson & { approval?: string }>(PASSWORD, 'user', 'create', 'alice', '--roles', 'administrator');
    assert.deepEqual([alice.name, alice.roles, alice.approval], ['alice', ['administrator'], undefined]);
    await jsonWithInput('ann has a long json password', 'user', 'create', 'ann', '--roles', 'approver');
    assert.deepEqual((await json<UserJson[]>('user', 'list')).map((u) => u.name).sort(), ['alice', 'ann']);
    assert.deepEqual((await json<UserJson>('user', 'set-roles', 'ann', 'approver', 'auditor')).roles.sort(), ['approver', 'auditor']);
    assert.equal((await json<UserJson>('user', 'disable', 'ann')).disabled, true);
    assert.equal((await json<UserJson>('user', 'enable', 'ann')).disabled, false);
    const ann = await json<UserJson>('user', 'show', 'ann');
    assert.deepEqual([ann.name, ann.disabled, ann.roles.sort()], ['ann', false, ['approver', 'auditor']]);
    assert.deepEqual(await jsonWithInput('ann has a new json password', 'user', 'passwd', 'ann'), { user: 'ann', passwordChanged: true });
  });

  it('token create / list / revoke --json: the printed token authenticates until revoked', async () => {
    const created = await json<TokenJson>('token', 'create', '--name', 'json-auditor', '--role', 'auditor');
    assert.match(created.token ?? '', /^kh_\S+$/);
    const withToken = (...args: string[]) => keyhold(args, { cwd: suite.cwd, env: { ...env, KEYHOLD_ADMIN_TOKEN: created.token ?? '' } });
    assert.equal((await withToken('audit', 'status')).code, 0);
    const listed = await json<TokenJson[]>('token', 'list');
    assert.equal(listed.find((t) => t.id === created.id)?.status, 'active');
    assert.equal((await json<TokenJson>('token', 'revoke', created.id)).status, 'revoked');
    assert.match((await withToken('audit', 'status')).stderr, /missing or invalid admin token/);
    annToken = (await json<TokenJson>('token', 'create', '--name', 'ann', '--user', 'ann')).token ?? '';
  });

  it('login / logout --json: the saved token is the one later commands use', async () => {
    const login = await jsonWithInput<{ user: string; expiresAt: string; savedTo: string }>(PASSWORD, 'login', '--user', 'alice');
    assert.equal(login.user, 'alice');
    const saved = JSON.parse(readFileSync(login.savedTo, 'utf8')) as { token: string };
    const tokens = await json<(TokenJson & { lastUsedAt?: string; user?: string })[]>('token', 'list', '--user', 'alice');
    assert.ok(
      tokens.some((t) => t.name === 'login' && t.lastUsedAt),
      'the login token made that call',
    );
    assert.equal((await keyhold(['user', 'show', 'alice'], { cwd: suite.cwd, env: { KEYHOLD_ADMIN_TOKEN: saved.token } })).code, 0);
    assert.deepEqual(await json('logout'), { loggedOut: true });
    assert.equal(existsSync(login.savedTo), false);
    await jsonWithInput(PASSWORD, 'login', '--user', 'alice');
  });

  it('approval-policy set / show / remove and approvals list / show / approve / deny --json', async () => {
    const policy = await json<{ group: string; operations: string[]; approvers: { role?: string }; required: number }>(
      'approval-policy',
      'set',
      '--group',
      'demo',
      '--operations',
      'key.disable',
      '--required',
      '1',
      '--role',
      'approver',
    );
    assert.deepEqual(policy.approvers, { role: 'approver' });
    assert.deepEqual(await json('approval-policy', 'show', '--group', 'demo'), policy);
    const asAnn = (...args: string[]) => keyhold(['--json', ...args], { cwd: suite.cwd, env: { ...env, KEYHOLD_ADMIN_TOKEN: annToken } });

    assert.equal((await suite.cli('key', 'disable', 'j-enc')).code, 3, 'waits for an approval');
    const pending = (await json<ApprovalJson[]>('approvals', 'list', '--status', 'pending')).find((a) => a.operation === 'key.disable');
    assert.ok(pending);
    assert.equal((await json<ApprovalJson>('approvals', 'show', pending.id)).status, 'pending');
    const approved = parsed<ApprovalJson>(['approvals', 'approve'], await asAnn('approvals', 'approve', pending.id));
    assert.deepEqual([approved.status, approved.approvals.map((a) => a.user)], ['done', ['ann']]);
    assert.equal((await metadata(demoTarget(), 'j-enc')).json?.keyStatus, 'DISABLED');

    assert.equal((await suite.cli('key', 'disable', 'j-byok')).code, 3);
    const second = (await json<ApprovalJson[]>('approvals', 'list', '--status', 'pending')).find((a) => a.operation === 'key.disable');
    assert.ok(second);
    assert.equal(parsed<ApprovalJson>(['approvals', 'deny'], await asAnn('approvals', 'deny', second.id)).status, 'denied');
    assert.equal((await metadata(demoTarget(), 'j-byok')).json?.keyStatus, 'ENABLED');

    assert.deepEqual(await json('approval-policy', 'remove', '--group', 'demo'), { group: 'demo', policy: null });
    assert.deepEqual(await json('approval-policy', 'show', '--group', 'demo'), { group: 'demo', policy: null });
    assert.equal((await json<KeyJson>('key', 'disable', 'j-byok')).status, 'DISABLED');
  });
});

describe('audit', () => {
  it('audit search --json pages with the printed cursor; export lines and status --json agree', async () => {
    const first = await json<{ events: AuditEventJson[]; nextCursor: string | null }>(
      'audit',
      'search',
      '--key',
      init.demo.keyId,
      '--limit',
      '1',
    );
    assert.equal(first.events.length, 1);
    assert.ok(first.nextCursor);
    const next = await json<{ events: AuditEventJson[] }>(
      'audit',
      'search',
      '--key',
      init.demo.keyId,
      '--limit',
      '1',
      '--cursor',
      first.nextCursor,
    );
    assert.notDeepEqual(next.events[0], first.events[0]);
    assert.equal(next.events[0]?.keyId, init.demo.keyId);

    const exported = await suite.cli('--json', 'audit', 'export', '--key', init.demo.keyId);
    assert.equal(exported.code, 0, describeRun(exported));
    covered.add('audit export');
    // Export writes JSON lines (one event per line), with or without --json.
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEventJson);
    assert.deepEqual(lines.slice(0, 2), [first.events[0], next.events[0]]);

    const status = await json<{ mode: string; chain: string; committedSeq: number }>('audit', 'status');
    assert.ok(lines.every((event) => event.chain !== status.chain || event.seq <= status.committedSeq));
  });

  it('token retire-bootstrap --json names the file it removed', async () => {
    const retired = await json<{ bootstrapTokenRetired: boolean; removedFile: string | null }>('token', 'retire-bootstrap');
    assert.deepEqual(retired, { bootstrapTokenRetired: true, removedFile: init.adminTokenFile });
    assert.equal(existsSync(init.adminTokenFile), false);
  });

  it('audit checkpoint (JSON) pins audit verify --json, with the node stopped', async () => {
    await suite.node.stop();
    const checkpoint = await json<{ chain: string; seq: number; publicKey: string }>('audit', 'checkpoint');
    const file = join(suite.cwd, 'checkpoint.json');
    writeFileSync(file, JSON.stringify(checkpoint));
    const report = await json<{ ok: boolean; chains: { chain: string; lastSeq?: number; checkpointsVerified: number }[] }>(
      'audit',
      'verify',
      '--checkpoint',
      file,
    );
    assert.equal(report.ok, true);
    const chain = report.chains.find((c) => c.chain === checkpoint.chain);
    assert.equal(chain?.lastSeq, checkpoint.seq);
  });
});

describe('backup, restore and migrate', () => {
  it('backup create / verify / restore --json and migrate --json: the counts printed are the rows restored and copied', async () => {
    // The node is stopped (the audit tests above); backup reads the data directory's database itself.
    const passphrase = join(suite.cwd, 'backup-passphrase');
    writeFileSync(passphrase, 'json output passphrase\n', { mode: 0o600 });
    const file = join(suite.cwd, 'node.khb');
    const created = await json<{ file: string; manifest: { counts: Record<string, number>; root: string } }>(
      'backup',
      'create',
      '--out',
      file,
      '--passphrase-file',
      passphrase,
    );
    assert.deepEqual([created.file, created.manifest.root], [file, 'shamir']);
    const verified = await json<{ ok: boolean; decrypted: boolean; manifest: { counts: Record<string, number> } }>(
      'backup',
      'verify',
      file,
      '--passphrase-file',
      passphrase,
    );
    assert.deepEqual([verified.ok, verified.decrypted, verified.manifest.counts], [true, true, created.manifest.counts]);

    // A new data directory with this node's root of trust (root.json and credential.key; the shares unseal it).
    const target = join(suite.cwd, 'restored');
    mkdirSync(target, { mode: 0o700 });
    for (const name of ['root.json', 'credential.key']) copyFileSync(join(suite.node.dataDir, name), join(target, name));
    const shares = join(suite.cwd, 'shares.txt');
    writeFileSync(shares, init.unseal.shares.join('\n') + '\n', { mode: 0o600 });
    const restored = await json<{ rows: number; keyVersionsChecked: number }>(
      '--data-dir',
      target,
      'backup',
      'restore',
      file,
      '--passphrase-file',
      passphrase,
      '--shares-file',
      shares,
    );
    const total = Object.values(created.manifest.counts).reduce((a, b) => a + b, 0);
    assert.equal(restored.rows, total);
    // Every version but the one `key destroy-version` destroyed above (its material is gone) was opened.
    assert.equal(restored.keyVersionsChecked, (created.manifest.counts.key_versions ?? 0) - 1);

    const database = await createScratchDatabase();
    try {
      const migrated = await json<{ rows: number; counts: Record<string, number> }>('--data-dir', target, 'migrate', '--to', database.url);
      assert.equal(migrated.counts.keys, created.manifest.counts.keys);
    } finally {
      await database.drop();
    }
  });
});

describe('coverage', () => {
  it('every command of the CLI ran with --json here, except serve', () => {
    const expected = leafCommands().filter((command) => command !== 'serve');
    assert.deepEqual(
      expected.filter((command) => !covered.has(command)),
      [],
      'commands never run with --json',
    );
    assert.deepEqual([...covered].sort(), expected.sort(), 'and nothing else');
  });
});
