/**
 * `keyhold keystore …`, end to end against one `keyhold serve` child. Commands run in the node's cwd
 * without --data-dir/--url/--token-file, so they find the node through ./data (node.json, admin-token),
 * except in the test of those overrides.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ekmHealth,
  failuresChangeNothing,
  failureLine,
  keyhold,
  keyholdWithInput,
  kmsConsoleTarget,
  ok,
  parseJsonOutput,
  parseRecord,
  serveForSuite,
  stateSnapshot,
  tempDir,
  xksCall,
  type Credential,
  type RunResult,
} from './helpers.js';

/** What `keystore show --json` (and each entry of `keystore list --json`) prints: the admin API's view. */
interface KeystoreJson {
  name: string;
  prefix: string;
  uriPath: string;
  quota?: { rps: number; burst: number };
  credentials: { accessKeyId: string; createdAt: string }[];
}

/** The KMS console configuration `keystore kms-json` prints. */
interface KmsConsoleJson {
  XksProxyUriPath: string;
  XksProxyAuthenticationCredential: { AccessKeyId: string; RawSecretAccessKey: string };
}

const suite = serveForSuite('keystore');
const { cli } = suite;

const ACME = '/acme/kms/xks/v1';
const health = (credential: Credential, uriPath = ACME, region = 'eu-west-1') =>
  xksCall(suite.node, { uriPath, operation: 'health', credential, region });

async function assertWorks(credential: Credential, uriPath = ACME, region = 'eu-west-1'): Promise<void> {
  const response = await health(credential, uriPath, region);
  assert.equal(response.status, 200, response.text);
  assert.equal(ekmHealth(response), 'ACTIVE');
}

const MIGRATED: Credential = { accessKeyId: 'MIGRATEDKEYID234567ABCDEF', secret: 'bWlncmF0ZWQtc2VjcmV0LWZyb20tYW5vdGhlci1wcm94eQ==' };
let generated: Credential;
let added: Credential;

/** Secrets reach the CLI through files (mode 600), never as flags. */
const secretsDir = tempDir('keystore-secrets');
function secretFile(name: string, secret: string): string {
  const path = join(secretsDir, name);
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return path;
}

describe('keystore create / list / show', () => {
  it('keystore create NAME --prefix /PATH --region R generates a credential, shows the secret once, and it signs XKS requests at once', async () => {
    const result = ok(await cli('keystore', 'create', 'acme', '--prefix', '/acme', '--region', 'eu-west-1'));
    const record = parseRecord(result.stdout);
    assert.equal(record.keystore, 'acme');
    assert.equal(record.uriPath, ACME);
    assert.equal(record.region, 'eu-west-1');
    const { accessKeyId = '', secretAccessKey = '' } = record;
    assert.match(accessKeyId, /^[A-Z2-7]{20,30}$/);
    const secret = /^(\S+)\s+\(shown once\)$/.exec(secretAccessKey)?.[1];
    assert.ok(secret, `secret shown once: ${secretAccessKey}`);
    generated = { accessKeyId, secret };
    await assertWorks(generated);
    // Signed for another region: the keystore's region is part of the credential scope.
    assert.equal((await health(generated, ACME, 'us-east-1')).status, 401);
  });

  it('keystore create with --access-key-id and --secret-file (migration) keeps that credential and does not echo the secret', async () => {
    const result = ok(
      await cli(
        'keystore',
        'create',
        'mig',
        '--prefix',
        '/legacy/xks',
        '--access-key-id',
        MIGRATED.accessKeyId,
        '--secret-file',
        secretFile('migrated', MIGRATED.secret),
      ),
    );
    const record = parseRecord(result.stdout);
    assert.equal(record.accessKeyId, MIGRATED.accessKeyId);
    assert.equal(record.secretAccessKey, '(as given)');
    assert.ok(!result.stdout.includes(MIGRATED.secret));
    await assertWorks(MIGRATED, '/legacy/xks/kms/xks/v1', 'us-east-1');
  });

  it('keystore list and keystore show (text and --json) list keystores and credentials but never a secret', async () => {
    const [list, listJson, show, showJson] = await Promise.all([
      cli('keystore', 'list'),
      cli('keystore', 'list', '--json'),
      cli('keystore', 'show', 'acme'),
      cli('keystore', 'show', 'mig', '--json'),
    ]);
    const demoSecret = suite.demo.credential.secret;
    for (const result of [list, listJson, show, showJson]) {
      ok(result);
      for (const secret of [generated.secret, MIGRATED.secret, demoSecret])
        assert.ok(!result.stdout.includes(secret), `no secret in ${result.stdout}`);
    }
    assert.match(list.stdout, /^NAME\s+URIPATH\s+REGION\s+GROUP\s+STATUS\s+QUOTA\s+CREDENTIALS$/m);
    assert.match(list.stdout, /^acme\s+\/acme\/kms\/xks\/v1\s+eu-west-1\s+acme\s+ENABLED\s+off\s+1$/m);

    const rows = parseJsonOutput<KeystoreJson[]>(listJson);
    assert.deepEqual(rows.map((r) => r.name).sort(), ['acme', 'demo', 'mig']);
    assert.equal(rows.find((r) => r.name === 'mig')?.uriPath, '/legacy/xks/kms/xks/v1');

    const record = parseRecord(show.stdout);
    assert.equal(record.name, 'acme');
    assert.equal(record.uriPath, ACME);
    assert.match(record.credentials ?? '', new RegExp(`^${generated.accessKeyId} \\(`));

    const mig = parseJsonOutput<KeystoreJson>(showJson);
    assert.equal(mig.name, 'mig');
    assert.equal(mig.prefix, '/legacy/xks');
    assert.deepEqual(
      mig.credentials.map((c) => c.accessKeyId),
      [MIGRATED.accessKeyId],
    );
  });
});

describe('keystore credentials and kms-json', () => {
  it('keystore credential add: the new credential works alongside the first, without a restart', async () => {
    const pid = suite.node.child.pid;
    const result = ok(await cli('keystore', 'credential', 'add', 'acme'));
    const record = parseRecord(result.stdout);
    assert.equal(record.keystore, 'acme');
    added = { accessKeyId: record.accessKeyId ?? '', secret: (record.secretAccessKey ?? '').replace(/\s+\(shown once\)$/, '') };
    assert.notEqual(added.accessKeyId, generated.accessKeyId);
    await assertWorks(added);
    await assertWorks(generated);
    assert.equal(suite.node.child.pid, pid);
    assert.equal(suite.node.child.exitCode, null, 'the same node process is still serving');
    const show = parseJsonOutput<KeystoreJson>(ok(await cli('keystore', 'show', 'acme', '--json')));
    assert.equal(show.credentials.length, 2);
  });

  it('keystore credential add takes a migrated secret from --secret-stdin or $KEYHOLD_XKS_SECRET; it works at once and is not echoed', async () => {
    const piped: Credential = { accessKeyId: 'PIPEDKEYID234567ABCDEFGH', secret: 'cGlwZWQtc2VjcmV0LWZvci1rZXlob2xkLWNsaS10ZXN0cw==' };
    const fromEnv: Credential = { accessKeyId: 'ENVKEYID234567ABCDEFGHIJ', secret: 'ZW52LXNlY3JldC1mb3Ita2V5aG9sZC1jbGktdGVzdHMtLQ==' };
    const [viaStdin, viaEnv] = await Promise.all([
      keyholdWithInput(piped.secret, ['keystore', 'credential', 'add', 'acme', '--access-key-id', piped.accessKeyId, '--secret-stdin'], {
        cwd: suite.cwd,
      }),
      keyhold(['keystore', 'credential', 'add', 'acme', '--access-key-id', fromEnv.accessKeyId], {
        cwd: suite.cwd,
        env: { KEYHOLD_XKS_SECRET: fromEnv.secret },
      }),
    ]);
    for (const [result, credential] of [
      [viaStdin, piped],
      [viaEnv, fromEnv],
    ] as const) {
      const record = parseRecord(ok(result).stdout);
      assert.equal(record.accessKeyId, credential.accessKeyId);
      assert.equal(record.secretAccessKey, '(as given)');
      assert.ok(!result.stdout.includes(credential.secret) && !result.stderr.includes(credential.secret));
      await assertWorks(credential);
      ok(await cli('keystore', 'credential', 'remove', 'acme', credential.accessKeyId));
    }
  });

  it('keystore credential remove: the removed credential then gets 401 AuthenticationFailedException; the other keeps working', async () => {
    const result = ok(await cli('keystore', 'credential', 'remove', 'acme', generated.accessKeyId));
    assert.match(result.stdout, new RegExp(`Removed credential ${generated.accessKeyId} from keystore acme`));
    const removed = await health(generated);
    assert.equal(removed.status, 401, removed.text);
    assert.equal(removed.json?.errorName, 'AuthenticationFailedException');
    await assertWorks(added);
  });

  it('keystore credential remove of the last credential is refused (one line, non-zero exit, credential kept)', async () => {
    const before = await stateSnapshot(suite.node);
    const line = failureLine(await cli('keystore', 'credential', 'remove', 'acme', added.accessKeyId));
    assert.match(line, /last credential/);
    assert.equal(await stateSnapshot(suite.node), before);
    await assertWorks(added);
  });

  it('102: keystore kms-json prints {XksProxyUriPath, XksProxyAuthenticationCredential{AccessKeyId, RawSecretAccessKey}} and that credential works', async () => {
    const json = parseJsonOutput<KmsConsoleJson>(ok(await cli('keystore', 'kms-json', 'acme')));
    assert.deepEqual(Object.keys(json), ['XksProxyUriPath', 'XksProxyAuthenticationCredential']);
    assert.deepEqual(Object.keys(json.XksProxyAuthenticationCredential), ['AccessKeyId', 'RawSecretAccessKey']);
    const { uriPath, credential } = kmsConsoleTarget(json);
    assert.equal(uriPath, ACME);
    assert.deepEqual(credential, added);
    await assertWorks(credential, uriPath);

    const demo = parseJsonOutput<unknown>(ok(await cli('keystore', 'kms-json', 'demo')));
    assert.deepEqual(
      demo,
      JSON.parse(readFileSync(join(suite.node.dataDir, 'kms-console/demo.json'), 'utf8')),
      'matches the KMS console file',
    );
  });
});

describe('keystore quota', () => {
  it('15: keystore quota NAME --rps N --burst M sets it (show and list say so), throttles XKS requests above it, and --off removes it', async () => {
    const set = parseRecord(ok(await cli('keystore', 'quota', 'acme', '--rps', '0.001', '--burst', '2')).stdout);
    assert.deepEqual(set, { keystore: 'acme', quota: '0.001/s, burst 2' });
    assert.equal(parseRecord(ok(await cli('keystore', 'show', 'acme')).stdout).quota, '0.001/s, burst 2');
    assert.deepEqual(parseJsonOutput<KeystoreJson>(ok(await cli('keystore', 'show', 'acme', '--json'))).quota, { rps: 0.001, burst: 2 });
    const table = ok(await cli('keystore', 'list')).stdout;
    assert.match(table, /^NAME\s.*\sQUOTA\s/m);
    assert.match(table, /^acme\s.*0\.001\/s, burst 2/m);
    assert.match(table, /^demo\s.*\soff\s/m);

    assert.equal((await health(added)).status, 200);
    assert.equal((await health(added)).status, 200);
    const throttled = await health(added);
    assert.equal(throttled.status, 429, throttled.text);
    assert.equal(throttled.json?.errorName, 'ThrottlingException');

    assert.deepEqual(parseRecord(ok(await cli('keystore', 'quota', 'acme', '--off')).stdout), { keystore: 'acme', quota: 'off' });
    await assertWorks(added);
    assert.deepEqual(parseJsonOutput(ok(await cli('keystore', 'quota', 'acme', '--rps', '50', '--json'))), {
      keystore: 'acme',
      quota: { rps: 50, burst: 50 },
    });
    assert.deepEqual(parseJsonOutput(ok(await cli('keystore', 'quota', 'acme', '--off', '--json'))), { keystore: 'acme', quota: null });
  });
});

describe('keystore failures: one "keyhold: " line, non-zero exit, nothing changed', () => {
  const VALID_SECRET = 'dmFsaWQtc2VjcmV0LWJ1dC1uZXZlci11c2VkLWJ5LWtleWhvbGQ=';
  const cases: [string, string[], RegExp][] = [
    ['duplicate keystore name', ['keystore', 'create', 'acme', '--prefix', '/other'], /keystore "acme" already exists/],
    ['duplicate prefix', ['keystore', 'create', 'other', '--prefix', '/acme'], /prefix "\/acme" is already used by keystore "acme"/],
    ['bad prefix (space)', ['keystore', 'create', 'other', '--prefix', '/has space'], /prefix must look like/],
    ['bad region', ['keystore', 'create', 'other', '--prefix', '/other', '--region', 'mars'], /"mars" is not an AWS region/],
    [
      'bad access key id',
      [
        'keystore',
        'create',
        'other',
        '--prefix',
        '/other',
        '--access-key-id',
        'lowercase-id',
        '--secret-file',
        secretFile('valid', VALID_SECRET),
      ],
      /access key id must be/,
    ],
    [
      'bad secret',
      [
        'keystore',
        'create',
        'other',
        '--prefix',
        '/other',
        '--access-key-id',
        'OTHERKEYID234567ABCDEFGH',
        '--secret-file',
        secretFile('short', 'short'),
      ],
      /secret must be/,
    ],
    [
      'a secret as a plain flag (--secret S) is refused: it would show in ps and shell history',
      ['keystore', 'create', 'other', '--prefix', '/other', '--access-key-id', 'OTHERKEYID234567ABCDEFGH', '--secret', VALID_SECRET],
      /^keyhold: --secret on the command line shows in ps and shell history; use --secret-file FILE, --secret-stdin or \$KEYHOLD_XKS_SECRET$/,
    ],
    [
      'a secret as a plain flag on credential add is refused too',
      ['keystore', 'credential', 'add', 'acme', '--access-key-id', 'OTHERKEYID234567ABCDEFGH', '--secret', VALID_SECRET],
      /^keyhold: --secret on the command line shows in ps and shell history/,
    ],
    [
      '--secret-file naming no file',
      ['keystore', 'create', 'other', '--prefix', '/other', '--secret-file', join(secretsDir, 'none')],
      /cannot read .* \(ENOENT\)/,
    ],
    [
      'only one of --access-key-id/--secret',
      ['keystore', 'create', 'other', '--prefix', '/other', '--access-key-id', 'OTHERKEYID234567ABCDEFGH'],
      /give both an access key id and a secret/,
    ],
    ['unknown keystore: show', ['keystore', 'show', 'nope'], /no keystore named "nope"/],
    ['unknown keystore: quota', ['keystore', 'quota', 'nope', '--rps', '5'], /no keystore named "nope"/],
    ['negative rps', ['keystore', 'quota', 'acme', '--rps=-1'], /rps must be a number of requests per second above 0/],
    ['rps not a number', ['keystore', 'quota', 'acme', '--rps', 'fast'], /--rps must be a number \(got "fast"\)/],
    ['fractional burst', ['keystore', 'quota', 'acme', '--rps', '5', '--burst', '1.5'], /burst must be a whole number/],
    ['quota without --rps or --off', ['keystore', 'quota', 'acme'], /give --rps N \[--burst M\] to set a quota, or --off/],
    [
      'quota with both --rps and --off',
      ['keystore', 'quota', 'acme', '--rps', '5', '--off'],
      /either --rps \[--burst\] or --off, not both/,
    ],
    ['unknown credential: credential remove', ['keystore', 'credential', 'remove', 'mig', 'NOSUCHKEYID234567ABCDEFG'], /does not exist/],
    [
      'wrong admin token (--token-file holding a wrong one)',
      ['--token-file', secretFile('wrong-token', 'wrong'), 'keystore', 'create', 'other', '--prefix', '/other'],
      /missing or invalid admin token/,
    ],
    [
      'an admin token as a plain flag (--token T) is refused',
      ['--token', 'wrong', 'keystore', 'create', 'other', '--prefix', '/other'],
      /^keyhold: --token on the command line shows in ps and shell history; use --token-file FILE, --token-stdin or \$KEYHOLD_ADMIN_TOKEN$/,
    ],
  ];

  failuresChangeNothing({ node: () => suite.node, cli, cases, listArgs: ['keystore', 'list', '--json'] });
});

describe('finding the node: --url and --token-file/--token-stdin override the data directory', () => {
  it('--url and --token-file, --token-stdin (and KEYHOLD_ADMIN_URL/KEYHOLD_ADMIN_TOKEN) reach the node when the data directory has no node.json or admin-token', async () => {
    // A cwd whose ./data holds only the CA certificate: no node.json, no admin-token.
    const elsewhere = tempDir('keystore-override');
    mkdirSync(join(elsewhere, 'data', 'tls'), { recursive: true });
    const { node } = suite;
    copyFileSync(join(node.dataDir, 'tls', 'cert.pem'), join(elsewhere, 'data', 'tls', 'cert.pem'));
    const token = readFileSync(join(node.dataDir, 'admin-token'), 'utf8').trim();
    const run = (args: string[], env?: Record<string, string>) => keyhold(args, { cwd: elsewhere, env });

    const [withoutFlags, withFlags, withStdin, withEnv, urlOnly] = await Promise.all([
      run(['keystore', 'list']),
      run(['keystore', 'list', '--json', '--url', node.adminUrl, '--token-file', secretFile('admin-token', token)]),
      keyholdWithInput(token, ['keystore', 'list', '--json', '--url', node.adminUrl, '--token-stdin'], { cwd: elsewhere }),
      run(['key', 'list', '--json'], { KEYHOLD_ADMIN_URL: node.adminUrl, KEYHOLD_ADMIN_TOKEN: token }),
      run(['keystore', 'list', '--url', node.adminUrl]),
    ]);
    assert.match(failureLine(withoutFlags), /no running node found in .*data.*pass --url/);
    const names = (result: RunResult) =>
      parseJsonOutput<{ name: string }[]>(ok(result))
        .map((k) => k.name)
        .sort();
    assert.deepEqual(names(withFlags), ['acme', 'demo', 'mig']);
    assert.deepEqual(names(withStdin), ['acme', 'demo', 'mig']);
    assert.deepEqual(
      parseJsonOutput<{ id: string }[]>(ok(withEnv)).map((k) => k.id),
      ['demo-key'],
    );
    assert.match(failureLine(urlOnly), /no admin token in .*; pass --token-file FILE or set KEYHOLD_ADMIN_TOKEN/);
  });
});
