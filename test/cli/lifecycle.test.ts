/**
 * `keyhold key …` lifecycle commands, `keyhold keystore block|unblock` and `keyhold kill-switch`, end to end
 * against one `keyhold serve` child, checked through signed XKS requests and the admin API.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  adminCall,
  bash,
  failuresChangeNothing,
  ok,
  parseJsonOutput,
  parseRecord,
  serveForSuite,
  tempDir,
  xksCall,
  type HttpResult,
  type XksAnswer,
} from './helpers.js';

/** The admin API's key and key version views, as far as these tests read them. */
interface KeyJson {
  status: string;
  currentVersion: number;
  minDecryptVersion: number;
  rotationPeriodDays?: number;
  nextRotationAt?: string;
  deletionDate?: string;
  tags: Record<string, string>;
}
interface VersionJson {
  state: string;
  origin: string;
  decrypts: boolean;
}

const suite = serveForSuite('lifecycle', {
  setUp: async ({ node }) => {
    for (const id of ['life-a', 'life-b', 'life-fail']) {
      const created = await adminCall(node, 'POST', '/keys', { id, keystore: 'demo' });
      assert.equal(created.status, 201, created.text);
    }
  },
});
const { cli } = suite;

const json = async <T = KeyJson>(...args: string[]) => parseJsonOutput<T>(ok(await cli('--json', ...args)));
const encrypt = (keyId: string) => xksCall(suite.node, { ...suite.demo, operation: 'encrypt', keyId });
const metadata = (keyId: string) => xksCall(suite.node, { ...suite.demo, operation: 'metadata', keyId });
/** The key version an Encrypt answer names in its ciphertext metadata. */
const metadataVersion = (response: HttpResult<XksAnswer>) => Buffer.from(response.json?.ciphertextMetadata ?? '', 'base64').readUInt32BE(1);

describe('key rotate / versions / set-rotation / revoke-version / destroy-version', () => {
  it('rotates, lists versions, sets a rotation policy, revokes and destroys an old version', async () => {
    assert.equal(metadataVersion(await encrypt('life-a')), 1);
    const rotated = await json('key', 'rotate', 'life-a');
    assert.equal(rotated.currentVersion, 2);
    assert.equal(metadataVersion(await encrypt('life-a')), 2, 'Encrypt uses the new version on the next request');

    const table = ok(await cli('key', 'versions', 'life-a')).stdout;
    assert.match(table, /^VERSION\s+STATE\s+ORIGIN\s+CURRENT\s+DECRYPTS\s+CREATEDAT$/m);
    assert.match(table, /^1\s+ENABLED\s+GENERATED\s+false\s+true\s+\S+$/m);
    assert.match(table, /^2\s+ENABLED\s+GENERATED\s+true\s+true\s+\S+$/m);

    const policy = await json('key', 'set-rotation', 'life-a', '--days', '90');
    assert.equal(policy.rotationPeriodDays, 90);
    assert.ok(policy.nextRotationAt);
    const off = await json('key', 'set-rotation', 'life-a', '--days', 'off');
    assert.equal(off.rotationPeriodDays, undefined);

    assert.equal((await json<VersionJson>('key', 'revoke-version', 'life-a', '1')).state, 'REVOKED');
    assert.equal((await json<VersionJson>('key', 'destroy-version', 'life-a', '1', '--yes')).state, 'DESTROYED');
    const versions = await json<VersionJson[]>('key', 'versions', 'life-a');
    assert.deepEqual(
      versions.map((v) => [v.state, v.decrypts]),
      [
        ['DESTROYED', false],
        ['ENABLED', true],
      ],
    );
    assert.equal((await json('key', 'set-min-decrypt-version', 'life-a', '2')).minDecryptVersion, 2);
  });

  it('tag and describe', async () => {
    const tagged = await json('key', 'tag', 'life-b', 'team=payments', 'env=prod');
    assert.deepEqual(tagged.tags, { team: 'payments', env: 'prod' });
    assert.deepEqual((await json('key', 'tag', 'life-b', '--remove', 'env')).tags, { team: 'payments' });
    const text = ok(await cli('key', 'describe', 'life-b', 'card payments')).stdout;
    assert.match(text, /^description\s+card payments$/m);
    assert.match(text, /^tags\s+team=payments$/m);
  });
});

describe('kill switches from the CLI', () => {
  it('key block --reason / unblock', async () => {
    const blocked = ok(await cli('key', 'block', 'life-b', '--reason', 'incident 7')).stdout;
    assert.match(blocked, /^status\s+BLOCKED$/m);
    assert.match(blocked, /^blockReason\s+incident 7$/m);
    const refused = await encrypt('life-b');
    assert.equal(refused.status, 400);
    assert.equal(refused.json?.errorName, 'InvalidStateException');
    assert.equal((await metadata('life-b')).json?.keyStatus, 'DISABLED');
    assert.match(ok(await cli('key', 'unblock', 'life-b')).stdout, /^status\s+ENABLED$/m);
    assert.equal((await encrypt('life-b')).status, 200);
  });

  it('keystore block --reason / unblock', async () => {
    assert.match(ok(await cli('keystore', 'block', 'demo', '--reason', 'credential leak')).stdout, /^status\s+BLOCKED$/m);
    assert.equal((await encrypt('life-b')).json?.errorName, 'InvalidStateException');
    assert.match(ok(await cli('keystore', 'unblock', 'demo')).stdout, /^status\s+ENABLED$/m);
    assert.equal((await encrypt('life-b')).status, 200);
  });

  it('kill-switch on --reason / status / off', async () => {
    assert.match(ok(await cli('kill-switch', 'status')).stdout, /^killSwitch\s+off$/m);
    const on = ok(await cli('kill-switch', 'on', '--reason', 'drill')).stdout;
    assert.match(on, /^killSwitch\s+on$/m);
    assert.match(on, /^reason\s+drill$/m);
    assert.equal((await encrypt('life-b')).json?.errorName, 'InvalidStateException');
    assert.equal((await json<{ reason?: string }>('kill-switch', 'status')).reason, 'drill');
    assert.match(ok(await cli('kill-switch', 'off')).stdout, /^killSwitch\s+off$/m);
    assert.equal((await encrypt('life-b')).status, 200);
  });
});

describe('key schedule-deletion / cancel-deletion', () => {
  it('schedules a deletion 7-30 days ahead (no crypto meanwhile) and cancels it (the key comes back DISABLED)', async () => {
    const pending = await json('key', 'schedule-deletion', 'life-b', '--days', '7');
    assert.equal(pending.status, 'PENDING_DELETION');
    assert.ok(Date.parse(pending.deletionDate ?? '') > Date.now() + 6 * 24 * 3600 * 1000);
    assert.equal((await encrypt('life-b')).json?.errorName, 'InvalidStateException');
    assert.equal((await json('key', 'cancel-deletion', 'life-b')).status, 'DISABLED');
    ok(await cli('key', 'enable', 'life-b'));
    assert.equal((await encrypt('life-b')).status, 200);
  });
});

describe('bring your own key with openssl', () => {
  it('import-wrapping-key --out, openssl pkeyutl as in the docs, then key import as a new key and as a new version', async () => {
    const work = tempDir('byok');
    const wrapping = parseRecord(ok(await cli('key', 'import-wrapping-key', '--out', join(work, 'wrapping.pem'))).stdout);
    const { wrappingKeyId = '' } = wrapping;
    assert.ok(wrappingKeyId);
    assert.equal(wrapping.algorithm, 'RSAES_OAEP_SHA_256');
    const wrap = await bash(
      'openssl rand -out key.bin 32 && ' +
        'openssl pkeyutl -encrypt -pubin -inkey wrapping.pem -in key.bin -out wrapped.bin -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256',
      { cwd: work },
    );
    assert.equal(wrap.code, 0, wrap.stderr);
    const imported = await json(
      'key',
      'import',
      'byok',
      '--keystore',
      'demo',
      '--wrapping-key-id',
      wrappingKeyId,
      '--wrapped-key-file',
      join(work, 'wrapped.bin'),
    );
    assert.equal(imported.status, 'ENABLED');
    assert.equal((await encrypt('byok')).status, 200);

    const again = await cli('key', 'import', 'byok', '--wrapping-key-id', wrappingKeyId, '--wrapped-key-file', join(work, 'wrapped.bin'));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^keyhold: import wrapping key "\S+" was already used; ask for a new one\n$/);

    const second = await json<{ wrappingKeyId: string; publicKeyPem: string }>('key', 'import-wrapping-key');
    const wrap2 = await bash(
      `cat > next.pem <<'PEM'\n${second.publicKeyPem}PEM\nopenssl rand -out key2.bin 32 && ` +
        'openssl pkeyutl -encrypt -pubin -inkey next.pem -in key2.bin -out wrapped2.bin -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256',
      { cwd: work },
    );
    assert.equal(wrap2.code, 0, wrap2.stderr);
    const version2 = await json(
      'key',
      'import',
      'byok',
      '--wrapping-key-id',
      second.wrappingKeyId,
      '--wrapped-key-file',
      join(work, 'wrapped2.bin'),
    );
    assert.equal(version2.currentVersion, 2);
    assert.deepEqual(
      (await json<VersionJson[]>('key', 'versions', 'byok')).map((v) => v.origin),
      ['IMPORTED', 'IMPORTED'],
    );
  });
});

describe('lifecycle failures: one "keyhold: " line, non-zero exit, nothing changed', () => {
  const cases: [string, string[], RegExp][] = [
    ['rotate an unknown key', ['key', 'rotate', 'nope'], /no key "nope"/],
    ['block with an empty reason', ['key', 'block', 'life-fail', '--reason', ' '], /give a reason/],
    ['unblock a key that is not blocked', ['key', 'unblock', 'life-fail'], /is enabled; cannot unblock it/],
    ['deletion in 6 days', ['key', 'schedule-deletion', 'life-fail', '--days', '6'], /7 to 30 days/],
    ['deletion in 31 days', ['key', 'schedule-deletion', 'life-fail', '--days', '31'], /7 to 30 days/],
    ['deletion in "soon" days', ['key', 'schedule-deletion', 'life-fail', '--days', 'soon'], /--days must be a whole number/],
    ['cancel a deletion never scheduled', ['key', 'cancel-deletion', 'life-fail'], /cannot cancel its deletion/],
    ['rotation every 0 days', ['key', 'set-rotation', 'life-fail', '--days', '0'], /1 to 3650 days, or off/],
    ['revoke the current version', ['key', 'revoke-version', 'life-fail', '1'], /current version .* rotate first/],
    ['revoke a version that does not exist', ['key', 'revoke-version', 'life-fail', '9'], /has no version 9/],
    ['destroy a version without --yes', ['key', 'destroy-version', 'life-fail', '1'], /cannot be undone; add --yes/],
    ['destroy the current version', ['key', 'destroy-version', 'life-fail', '1', '--yes'], /current version/],
    ['minimum decryption version above the current', ['key', 'set-min-decrypt-version', 'life-fail', '2'], /must be 1 to 1/],
    ['tag without name=value', ['key', 'tag', 'life-fail', 'novalue'], /must be name=value/],
    ['remove a tag the key lacks', ['key', 'tag', 'life-fail', '--remove', 'ghost'], /has no tag "ghost"/],
    ['description of 300 characters', ['key', 'describe', 'life-fail', 'x'.repeat(300)], /at most 256/],
    ['block an unknown keystore', ['keystore', 'block', 'nope', '--reason', 'r'], /no keystore named "nope"/],
    ['unblock a keystore that is not blocked', ['keystore', 'unblock', 'demo'], /is not blocked/],
    ['kill switch without a reason', ['kill-switch', 'on', '--reason', ''], /give a reason/],
    [
      'import with an unknown wrapping key',
      ['key', 'import', 'life-fail', '--wrapping-key-id', 'nope', '--wrapped-key-file', '/etc/hostname'],
      /no import wrapping key "nope"/,
    ],
    [
      'import from a missing file',
      ['key', 'import', 'life-fail', '--wrapping-key-id', 'x', '--wrapped-key-file', '/nonexistent/wrapped.bin'],
      /no file \/nonexistent\/wrapped.bin/,
    ],
    [
      'import a new key without --keystore',
      ['key', 'import', 'brand-new', '--wrapping-key-id', 'x', '--wrapped-key-file', '/etc/hostname'],
      /no key "brand-new"/,
    ],
  ];

  failuresChangeNothing({ node: () => suite.node, cli, cases, listArgs: ['key', 'versions', 'life-fail', '--json'] });
});
