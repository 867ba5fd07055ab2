/**
 * What AWS KMS sees of Keyhold's key lifecycle (docs/rotation.md): each key state's XKS answer, kill
 * switches, and rotation: ciphertexts of every version still decrypt after rotations and a restart;
 * tampered metadata, revoked versions and versions below the minimum are refused with the documented error.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { expectError as assertError, okBody } from '../helpers/xks-answers.js';
import {
  admin,
  adminError,
  adminOk as adminOkOn,
  decryptBody,
  encryptBody,
  metadata,
  xks,
  type EncryptedFields,
} from '../helpers/xks-client.js';
import { restartTestNode, useTestNode } from '../helpers/xks-suite.js';

const DAY = 24 * 60 * 60 * 1000;
// The node's clock; requests are signed at the same time so SigV4's skew check agrees after jumps.
const clock = new ManualClock(Date.now());
const node = useTestNode({ clock });

/** The fields of the admin API's key, keystore, version and kill-switch views these tests read. */
interface AdminView {
  status?: string;
  blockReason?: string;
  deletionDate?: string;
  currentVersion?: number;
  nextRotationAt?: string;
  rotationPeriodDays?: number;
  state?: string;
  decrypts?: boolean;
  on?: boolean;
  reason?: string;
}

const adminOk = <T = AdminView>(method: string, path: string, body?: unknown) => adminOkOn<T>(node(), method, path, body);

const call = (operation: 'metadata' | 'encrypt' | 'decrypt', keyId: string, body: unknown) =>
  xks(node(), { operation, keyId, body, date: clock.now() });
const keyMetadata = (keyId: string) => call('metadata', keyId, { requestMetadata: metadata('DescribeKey') });
const encrypt = (keyId: string, plaintext = randomBytes(24)) => call('encrypt', keyId, encryptBody(plaintext));
const decrypt = (keyId: string, encrypted: EncryptedFields) => call('decrypt', keyId, decryptBody(encrypted));

interface Sample {
  plaintext: Buffer;
  encrypted: EncryptedFields;
}

async function sealedRoundTrip(keyId: string): Promise<Sample> {
  const plaintext = randomBytes(24);
  return { plaintext, encrypted: okBody(await encrypt(keyId, plaintext), 'encrypt') };
}

async function assertDecrypts(keyId: string, sample: Sample) {
  const response = await decrypt(keyId, sample.encrypted);
  assert.deepEqual(Buffer.from(okBody(response, 'decrypt').plaintext, 'base64'), sample.plaintext);
}

/** The key version a ciphertext names in its metadata (format byte 1, then the version, big-endian). */
const versionOf = (sample: Sample) => Buffer.from(sample.encrypted.ciphertextMetadata ?? '', 'base64').readUInt32BE(1);

describe('key state → XKS answer', () => {
  it('30/77: ENABLED, DISABLED, BLOCKED, PENDING_DELETION and DESTROYED each answer as documented (GetKeyMetadata DISABLED, crypto InvalidStateException, destroyed KeyNotFoundException)', async () => {
    await adminOk('POST', '/keys', { id: 'states', keystore: 'demo' });
    const before = await sealedRoundTrip('states');
    const expectRefused = async (status: string) => {
      assert.equal(okBody(await keyMetadata('states'), 'metadata').keyStatus, 'DISABLED', `GetKeyMetadata of a ${status} key`);
      assertError(await encrypt('states'), 400, 'InvalidStateException');
      assertError(await decrypt('states', before.encrypted), 400, 'InvalidStateException');
    };

    assert.equal(okBody(await keyMetadata('states'), 'metadata').keyStatus, 'ENABLED');
    await adminOk('POST', '/keys/states/disable');
    await expectRefused('DISABLED');
    await adminOk('POST', '/keys/states/enable');

    const blocked = await adminOk('POST', '/keys/states/block', { reason: 'incident 42' });
    assert.equal(blocked.status, 'BLOCKED');
    assert.equal(blocked.blockReason, 'incident 42');
    await expectRefused('BLOCKED');
    const refused = await encrypt('states');
    assert.match(assertError(refused, 400, 'InvalidStateException').errorMessage ?? '', /blocked/);
    assert.ok(!refused.text.includes('incident 42'), "the operator's reason stays inside Keyhold");
    await adminOk('POST', '/keys/states/unblock');
    await assertDecrypts('states', before);

    const pending = await adminOk('POST', '/keys/states/schedule-deletion', { days: 7 });
    assert.equal(pending.status, 'PENDING_DELETION');
    assert.equal(pending.deletionDate, new Date(clock.now() + 7 * DAY).toISOString());
    await expectRefused('PENDING_DELETION');

    // The scheduler leaves it alone until the date, then destroys it.
    clock.advance(7 * DAY - 1000);
    assert.deepEqual((await node().node.scheduler.tick()).destroyed, []);
    clock.advance(1000);
    const work = await node().node.scheduler.tick();
    assert.deepEqual(
      work.destroyed.map((d) => d.key),
      ['states'],
    );
    for (const response of [await keyMetadata('states'), await encrypt('states'), await decrypt('states', before.encrypted)]) {
      assertError(response, 404, 'KeyNotFoundException');
    }
    const destroyed = await adminOk('GET', '/keys/states');
    assert.equal(destroyed.status, 'DESTROYED');
    const versions = await adminOk<{ state: string }[]>('GET', '/keys/states/versions');
    assert.deepEqual(
      versions.map((v) => v.state),
      ['DESTROYED'],
    );
    const { keyStore } = node().node.services;
    const stored = await keyStore.listKeyVersions((await keyStore.listKeys()).find((k) => k.externalId === 'states')!.id);
    assert.equal(stored[0]!.sealedMaterial.length, 0, 'the stored material is erased');

    // The id is never reused.
    const again = await admin(node(), 'POST', '/keys', { id: 'states', keystore: 'demo' });
    assert.equal(again.status, 409);
    assert.match(adminError(again), /was destroyed; a key id is never reused/);
  });

  it('a cancelled deletion leaves the key DISABLED; enabling it restores crypto with the old material', async () => {
    await adminOk('POST', '/keys', { id: 'cancel-me', keystore: 'demo' });
    const sample = await sealedRoundTrip('cancel-me');
    await adminOk('POST', '/keys/cancel-me/schedule-deletion', { days: 30 });
    const cancelled = await adminOk('POST', '/keys/cancel-me/cancel-deletion');
    assert.equal(cancelled.status, 'DISABLED');
    assert.equal(cancelled.deletionDate, undefined);
    clock.advance(31 * DAY);
    assert.deepEqual((await node().node.scheduler.tick()).destroyed, []);
    assertError(await encrypt('cancel-me'), 400, 'InvalidStateException');
    await adminOk('POST', '/keys/cancel-me/enable');
    await assertDecrypts('cancel-me', sample);
  });
});

describe('kill switches', () => {
  it('a blocked keystore refuses every key operation with InvalidStateException, effective on the next request; unblock restores', async () => {
    const keyId = node().keyId;
    const sample = await sealedRoundTrip(keyId);
    const blocked = await adminOk('POST', '/keystores/demo/block', { reason: 'suspected credential leak' });
    assert.equal(blocked.status, 'BLOCKED');
    assert.equal(blocked.blockReason, 'suspected credential leak');
    for (const response of [await keyMetadata(keyId), await encrypt(keyId), await decrypt(keyId, sample.encrypted)]) {
      assert.match(assertError(response, 400, 'InvalidStateException').errorMessage ?? '', /key store is blocked/);
    }
    const enable = await admin(node(), 'POST', '/keystores/demo/enable');
    assert.equal(enable.status, 409, 'enable does not bypass a block');
    await adminOk('POST', '/keystores/demo/unblock');
    await assertDecrypts(keyId, sample);
  });

  it('the node-wide kill switch stops every key operation (health still answers), survives a restart, and is lifted with off', async () => {
    const keyId = node().keyId;
    const sample = await sealedRoundTrip(keyId);
    const on = await adminOk('PUT', '/node/kill-switch', { on: true, reason: 'ransomware drill' });
    assert.equal(on.on, true);
    assert.equal(on.reason, 'ransomware drill');
    for (const response of [await keyMetadata(keyId), await encrypt(keyId), await decrypt(keyId, sample.encrypted)]) {
      assertError(response, 400, 'InvalidStateException');
    }
    const health = await xks(node(), {
      operation: 'health',
      body: { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'r-1' } },
      date: clock.now(),
    });
    assert.equal(health.status, 200, health.text);

    await restart();
    assert.equal((await adminOk('GET', '/node/kill-switch')).reason, 'ransomware drill');
    assertError(await encrypt(keyId), 400, 'InvalidStateException');

    const refused = await admin(node(), 'PUT', '/node/kill-switch', { on: true, reason: '   ' });
    assert.equal(refused.status, 400);
    assert.match(adminError(refused), /give a reason/);
    assert.equal((await adminOk('PUT', '/node/kill-switch', { on: false })).on, false);
    await assertDecrypts(keyId, sample);
  });
});

const restart = () => restartTestNode(node(), { clock });

describe('rotation as KMS sees it', () => {
  it('ciphertexts of every version decrypt after rotations and a restart; Encrypt uses the current version', async () => {
    await adminOk('POST', '/keys', { id: 'rotating', keystore: 'demo' });
    const samples = [await sealedRoundTrip('rotating')];
    for (const expected of [2, 3]) {
      const rotated = await adminOk('POST', '/keys/rotating/rotate');
      assert.equal(rotated.currentVersion, expected);
      samples.push(await sealedRoundTrip('rotating'));
    }
    // The metadata names the version.
    assert.deepEqual(samples.map(versionOf), [1, 2, 3]);

    await restart();
    for (const sample of samples) await assertDecrypts('rotating', sample);
    assert.equal(versionOf(await sealedRoundTrip('rotating')), 3);
  });

  it('tampered metadata → InvalidCiphertextException; a revoked version or one below the minimum → InvalidStateException', async () => {
    const samples: Sample[] = [];
    await adminOk('POST', '/keys', { id: 'revoking', keystore: 'demo' });
    for (let version = 1; version <= 3; version++) {
      if (version > 1) await adminOk('POST', '/keys/revoking/rotate');
      samples.push(await sealedRoundTrip('revoking'));
    }
    const withMetadata = (sample: (typeof samples)[number], version: number, format = 1) => {
      const metadataBytes = Buffer.alloc(5);
      metadataBytes.writeUInt8(format, 0);
      metadataBytes.writeUInt32BE(version, 1);
      return { ...sample.encrypted, ciphertextMetadata: metadataBytes.toString('base64') };
    };
    // Tampering: another existing version (the AAD binding fails), a version that never existed, an unknown format.
    assertError(await decrypt('revoking', withMetadata(samples[2]!, 2)), 400, 'InvalidCiphertextException');
    assertError(await decrypt('revoking', withMetadata(samples[2]!, 9)), 400, 'InvalidCiphertextException');
    assertError(await decrypt('revoking', withMetadata(samples[2]!, 3, 2)), 400, 'InvalidCiphertextException');

    const revoked = await adminOk('POST', '/keys/revoking/versions/1/revoke');
    assert.equal(revoked.state, 'REVOKED');
    assert.equal(revoked.decrypts, false);
    const refused = await decrypt('revoking', samples[0]!.encrypted);
    assert.match(assertError(refused, 400, 'InvalidStateException').errorMessage ?? '', /revoked/);
    // Tampering that points at the revoked version is refused too, before any key is used.
    assertError(await decrypt('revoking', withMetadata(samples[2]!, 1)), 400, 'InvalidStateException');
    await assertDecrypts('revoking', samples[1]!);

    await adminOk('PUT', '/keys/revoking/min-decrypt-version', { version: 3 });
    assertError(await decrypt('revoking', samples[1]!.encrypted), 400, 'InvalidStateException');
    await assertDecrypts('revoking', samples[2]!);
    // The minimum can be lowered again: version 2 was only refused, never revoked.
    await adminOk('PUT', '/keys/revoking/min-decrypt-version', { version: 1 });
    await assertDecrypts('revoking', samples[1]!);

    // Destroying takes a revoked version, never the current one.
    const current = await admin(node(), 'POST', '/keys/revoking/versions/3/destroy');
    assert.equal(current.status, 409);
    const live = await admin(node(), 'POST', '/keys/revoking/versions/2/destroy');
    assert.equal(live.status, 409);
    assert.match(adminError(live), /still decrypts; revoke it/);
    const destroyed = await adminOk('POST', '/keys/revoking/versions/1/destroy');
    assert.equal(destroyed.state, 'DESTROYED');
    await restart();
    assertError(await decrypt('revoking', samples[0]!.encrypted), 400, 'InvalidStateException');
    await assertDecrypts('revoking', samples[1]!);
    await assertDecrypts('revoking', samples[2]!);
  });

  it('a rotation policy makes the node rotate the key when due; older ciphertexts keep decrypting', async () => {
    await adminOk('POST', '/keys', { id: 'scheduled', keystore: 'demo' });
    const first = await sealedRoundTrip('scheduled');
    const policy = await adminOk('PUT', '/keys/scheduled/rotation-policy', { days: 30 });
    assert.equal(policy.rotationPeriodDays, 30);
    assert.equal(policy.nextRotationAt, new Date(clock.now() + 30 * DAY).toISOString());
    clock.advance(30 * DAY);
    const work = await node().node.scheduler.tick();
    assert.deepEqual(
      work.rotated.filter((r) => r.key === 'scheduled').map((r) => r.version),
      [2],
    );
    const shown = await adminOk('GET', '/keys/scheduled');
    assert.equal(shown.currentVersion, 2);
    assert.equal(shown.nextRotationAt, new Date(clock.now() + 30 * DAY).toISOString());
    assert.equal(versionOf(await sealedRoundTrip('scheduled')), 2);
    await assertDecrypts('scheduled', first);
    assert.deepEqual(
      (await node().node.scheduler.tick()).rotated.filter((r) => r.key === 'scheduled'),
      [],
      'not again until the next period',
    );
    await adminOk('PUT', '/keys/scheduled/rotation-policy', { days: null });
    clock.advance(31 * DAY);
    assert.deepEqual(
      (await node().node.scheduler.tick()).rotated.filter((r) => r.key === 'scheduled'),
      [],
    );
  });
});

describe('bad input to the lifecycle routes', () => {
  it('answers 400/404/409 with one line, never 500, and changes nothing', async () => {
    await adminOk('POST', '/keys', { id: 'untouched', keystore: 'demo' });
    const before = JSON.stringify(await adminOk('GET', '/keys/untouched'));
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/keys/untouched/block', {}, 400, /reason/],
      ['POST', '/keys/untouched/block', { reason: 'a\nb' }, 400, /printable/],
      ['POST', '/keys/untouched/schedule-deletion', { days: 'soon' }, 400, /days/],
      ['PUT', '/keys/untouched/rotation-policy', { days: 'weekly' }, 400, /days/],
      ['PUT', '/keys/untouched/rotation-policy', {}, 400, /days/],
      ['PUT', '/keys/untouched/min-decrypt-version', { version: 0 }, 400, /must be 1 to 1/],
      ['POST', '/keys/untouched/versions/0/revoke', undefined, 400, /version/],
      ['POST', '/keys/untouched/versions/abc/destroy', undefined, 400, /version/],
      ['POST', '/keys/nope/rotate', undefined, 404, /no key "nope"/],
      ['PATCH', '/keys/untouched/tags', { set: 'team=7' }, 400, /set/],
      ['POST', '/keys/import', { id: 'imp', keystore: 'demo', wrappingKeyId: 'x' }, 400, /wrappedKey/],
      ['POST', '/keys/import', { id: 'imp', keystore: 'demo', wrappingKeyId: 'x', wrappedKey: 'AAAA' }, 404, /no import wrapping key "x"/],
      ['POST', '/keys/untouched/import', { wrappingKeyId: 'x', wrappedKey: 'AAAA' }, 404, /no import wrapping key "x"/],
      ['PUT', '/node/kill-switch', { on: 'maybe' }, 400, /on/],
      ['POST', '/keystores/demo/block', {}, 400, /reason/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const response = await admin(node(), method, path, body);
      assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
      assert.match(adminError(response), message, `${method} ${path}`);
      assert.ok(!adminError(response).includes('\n'), 'one line');
    }
    assert.equal(JSON.stringify(await adminOk('GET', '/keys/untouched')), before);
    assert.equal((await adminOk('GET', '/node/kill-switch')).on, false);
    assert.equal((await adminOk('GET', '/keystores/demo')).status, 'ENABLED');
  });
});
