/**
 * `keyhold key …`, end to end against one `keyhold serve` child, checked through signed XKS requests.
 * Commands run in the node's cwd and find it through ./data (node.json, admin-token).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminCall, failuresChangeNothing, ok, parseJsonOutput, parseRecord, serveForSuite, xksCall, type RunResult } from './helpers.js';

/** The admin API's key view, as `key list --json` and `key show --json` print it (the fields these tests read). */
interface KeyJson {
  id: string;
  keystore: string;
  usage: string[];
  status: string;
}

const suite = serveForSuite('key', {
  // A second keystore (set up through the admin API; `keystore create` has its own tests) so
  // `key list --keystore` has something to leave out.
  setUp: async ({ node }) => {
    const created = await adminCall(node, 'POST', '/keystores', { name: 'other', prefix: '/other' });
    assert.equal(created.status, 201, created.text);
    const key = await adminCall(node, 'POST', '/keys', { id: 'other-key', keystore: 'other' });
    assert.equal(key.status, 201, key.text);
  },
});
const { cli } = suite;

const metadata = (keyId: string) => xksCall(suite.node, { ...suite.demo, operation: 'metadata', keyId });
const encrypt = (keyId: string) => xksCall(suite.node, { ...suite.demo, operation: 'encrypt', keyId });

describe('key create / list / show', () => {
  it('key create ID --keystore NAME: usage defaults to ENCRYPT,DECRYPT; --usage ENCRYPT, DECRYPT and none are honoured by XKS GetKeyMetadata', async () => {
    const cases: [string, string[], string, string[]][] = [
      ['k-both', [], 'ENCRYPT, DECRYPT', ['ENCRYPT', 'DECRYPT']],
      ['k-enc', ['--usage', 'ENCRYPT'], 'ENCRYPT', ['ENCRYPT']],
      ['k-dec', ['--usage', 'decrypt'], 'DECRYPT', ['DECRYPT']],
      ['k-none', ['--usage', 'none'], 'none', []],
    ];
    const results = await Promise.all(cases.map(([id, usage]) => cli('key', 'create', id, '--keystore', 'demo', ...usage)));
    for (const [i, [id, , printed, xksUsage]] of cases.entries()) {
      const record = parseRecord(ok(results[i]!).stdout);
      assert.equal(record.id, id);
      assert.equal(record.keystore, 'demo');
      assert.equal(record.usage, printed);
      assert.equal(record.status, 'ENABLED');
      const response = await metadata(id);
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(response.json, { keySpec: 'AES_256', keyUsage: xksUsage, keyStatus: 'ENABLED' });
    }
    // Usage is enforced: an ENCRYPT-less key cannot encrypt.
    assert.equal((await encrypt('k-dec')).status, 400);
  });

  it('key list, key list --keystore NAME and key show ID, as text and --json', async () => {
    const [list, listJson, filtered, show, showJson] = await Promise.all([
      cli('key', 'list'),
      cli('key', 'list', '--json'),
      cli('key', 'list', '--keystore', 'other', '--json'),
      cli('key', 'show', 'k-enc'),
      cli('--json', 'key', 'show', 'other-key'),
    ]);
    assert.match(ok(list).stdout, /^ID\s+KEYSTORE\s+USAGE\s+STATUS\s+CURRENTVERSION\s+CREATEDAT$/m);
    assert.match(list.stdout, /^k-none\s+demo\s+none\s+ENABLED\s+1\s+\S+$/m);
    assert.match(list.stdout, /^other-key\s+other\s+ENCRYPT, DECRYPT\s+ENABLED\s+1\s+\S+$/m);

    const all = parseJsonOutput<KeyJson[]>(ok(listJson));
    assert.deepEqual(all.map((k) => k.id).sort(), ['demo-key', 'k-both', 'k-dec', 'k-enc', 'k-none', 'other-key']);
    assert.ok(!all.some((k) => k.id === 'health-canary'), 'the internal health key is not listed');
    assert.deepEqual(
      parseJsonOutput<KeyJson[]>(ok(filtered)).map((k) => k.id),
      ['other-key'],
    );

    const record = parseRecord(ok(show).stdout);
    assert.equal(record.id, 'k-enc');
    assert.equal(record.usage, 'ENCRYPT');
    assert.equal(record.currentVersion, '1');
    const shown = parseJsonOutput<KeyJson>(ok(showJson));
    assert.equal(shown.id, 'other-key');
    assert.equal(shown.keystore, 'other');
    assert.deepEqual(shown.usage, ['ENCRYPT', 'DECRYPT']);
    assert.equal(shown.status, 'ENABLED');
  });
});

describe('key list: search, filters and pages', () => {
  it('key list --search S --status X --keystore K; --limit N prints one page and the cursor of the next (stderr); --cursor C continues', async () => {
    for (const [id, description] of <[string, string][]>[
      ['pay-a', 'Payroll EU'],
      ['pay-b', 'payroll US'],
      ['pay-c', 'PAYROLL APAC'],
    ]) {
      ok(await cli('key', 'create', id, '--keystore', 'demo', '--description', description));
    }
    ok(await cli('key', 'disable', 'pay-b'));
    const ids = (stdout: string) => (JSON.parse(stdout) as KeyJson[]).map((k) => k.id);

    assert.deepEqual(ids(ok(await cli('key', 'list', '--search', 'payroll', '--json')).stdout), ['pay-a', 'pay-b', 'pay-c']);
    assert.deepEqual(ids(ok(await cli('key', 'list', '--search', 'PAYROLL', '--status', 'DISABLED', '--json')).stdout), ['pay-b']);
    assert.deepEqual(ids(ok(await cli('key', 'list', '--search', 'payroll', '--keystore', 'other', '--json')).stdout), []);

    /** A success whose stderr is the one note naming the next page's cursor. */
    const withNote = (result: RunResult) => {
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^note: more keys follow: add --cursor \S+\n$/);
      return result;
    };
    const first = withNote(await cli('key', 'list', '--search', 'payroll', '--limit', '2', '--json'));
    assert.deepEqual(ids(first.stdout), ['pay-a', 'pay-b']);
    const cursor = /more keys follow: add --cursor (\S+)/.exec(first.stderr)?.[1];
    assert.ok(cursor, first.stderr);
    const rest = ok(await cli('key', 'list', '--search', 'payroll', '--limit', '2', '--cursor', cursor, '--json'));
    assert.deepEqual(ids(rest.stdout), ['pay-c']);
    assert.ok(!rest.stderr.includes('more keys follow'), 'the last page names no cursor');

    const text = withNote(await cli('key', 'list', '--search', 'payroll', '--limit', '1'));
    assert.match(text.stdout, /^pay-a\s+demo\s+ENCRYPT, DECRYPT\s+ENABLED\s+1\s+\S+$/m);
    assert.doesNotMatch(text.stdout, /pay-b/);
  });
});

describe('key disable / enable', () => {
  it('key disable: the next XKS Encrypt answers 400 InvalidStateException and GetKeyMetadata says DISABLED (no restart); key enable restores', async () => {
    const pid = suite.node.child.pid;
    assert.equal((await encrypt('k-both')).status, 200);

    const disabled = parseRecord(ok(await cli('key', 'disable', 'k-both')).stdout);
    assert.equal(disabled.status, 'DISABLED');
    const refused = await encrypt('k-both');
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json?.errorName, 'InvalidStateException');
    assert.equal((await metadata('k-both')).json?.keyStatus, 'DISABLED');
    assert.equal((await encrypt('k-enc')).status, 200, 'other keys are unaffected');

    const enabled = parseRecord(ok(await cli('key', 'enable', 'k-both')).stdout);
    assert.equal(enabled.status, 'ENABLED');
    assert.equal((await encrypt('k-both')).status, 200);
    assert.equal((await metadata('k-both')).json?.keyStatus, 'ENABLED');
    assert.equal(suite.node.child.pid, pid);
    assert.equal(suite.node.child.exitCode, null, 'the same node process served throughout');
  });
});

describe('key failures: one "keyhold: " line, non-zero exit, nothing changed', () => {
  const cases: [string, string[], RegExp][] = [
    ['duplicate key id', ['key', 'create', 'k-enc', '--keystore', 'demo'], /key "k-enc" already exists in keystore "demo"/],
    ['key id of 129 characters', ['key', 'create', 'a'.repeat(129), '--keystore', 'demo'], /key id must be 1-128 characters/],
    ['key id with a slash (a/b)', ['key', 'create', 'a/b', '--keystore', 'demo'], /key id must be 1-128 characters/],
    ['key id ..', ['key', 'create', '..', '--keystore', 'demo'], /must not consist only of dots/],
    [
      'bad usage',
      ['key', 'create', 'k-sign', '--keystore', 'demo', '--usage', 'SIGN'],
      /usage must be ENCRYPT,DECRYPT, ENCRYPT, DECRYPT or none/,
    ],
    ['unknown keystore', ['key', 'create', 'k-x', '--keystore', 'nope'], /no keystore named "nope"/],
    ['unknown key: show', ['key', 'show', 'nope'], /no key "nope"/],
    ['unknown key: disable', ['key', 'disable', 'nope'], /no key "nope"/],
    ['unknown key: enable in a keystore', ['key', 'enable', 'other-key', '--keystore', 'demo'], /no key "other-key" in keystore "demo"/],
    ['key list --limit 0', ['key', 'list', '--limit', '0'], /limit must be/],
    ['key list --limit ten', ['key', 'list', '--limit', 'ten'], /--limit must be a whole number/],
    ['key list --status unknown', ['key', 'list', '--status', 'ACTIVE'], /status must be/],
    ['key list --cursor forged', ['key', 'list', '--cursor', 'forged'], /cursor is not one this API returned/],
  ];

  failuresChangeNothing({ node: () => suite.node, cli, cases, listArgs: ['key', 'list', '--json'] });
});
