import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync, chmodSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { ManualClock, systemClock } from '../../../src/core/clock.js';
import { AuthenticationTagMismatchError, aesGcmDecrypt } from '../../../src/crypto/aes-gcm.js';
import { createPkcs11MasterKey, createPkcs11Root } from '../../../src/roots/pkcs11/pkcs11-root.js';
import { masterKeyName } from '../../../src/roots/pkcs11/references.js';
import { SessionPool } from '../../../src/roots/pkcs11/session-pool.js';
import { readPin } from '../../../src/roots/pkcs11/pin.js';
import { RootTimeoutError, RootUnavailableError, sealContext, type RootOfTrust } from '../../../src/roots/root-of-trust.js';
import { createSoftHsmToken, removeSoftHsmTokens, type SoftHsmToken } from '../../helpers/softhsm.js';

after(removeSoftHsmTokens);

async function openRoot(token: SoftHsmToken, mode: 'keys' | 'wrap', pool = {}): Promise<RootOfTrust> {
  const config = await createPkcs11MasterKey(token.rootConfig(mode));
  return createPkcs11Root(config, { pool });
}

async function roundTrip(root: RootOfTrust, reference: Buffer, context: string): Promise<void> {
  const key = await root.openKey(reference, context);
  const iv = randomBytes(12);
  const aad = Buffer.from('aad');
  const plaintext = randomBytes(100);
  const { ciphertext, tag } = await key.encrypt(iv, plaintext, aad);
  assert.equal(ciphertext.length, plaintext.length);
  assert.equal(tag.length, 16);
  assert.deepEqual(await key.decrypt(iv, ciphertext, aad, tag), plaintext);
  const badTag = Buffer.from(tag);
  badTag.writeUInt8(badTag.readUInt8(0) ^ 1, 0);
  await assert.rejects(key.decrypt(iv, ciphertext, aad, badTag), AuthenticationTagMismatchError);
  await assert.rejects(key.decrypt(iv, ciphertext, Buffer.from('other aad'), tag), AuthenticationTagMismatchError);
}

for (const mode of ['keys', 'wrap'] as const) {
  describe(`PKCS#11 root, ${mode} mode (SoftHSMv2)`, () => {
    test('creates, opens and uses keys; a wrong tag or AAD is a tag mismatch', async () => {
      const token = createSoftHsmToken();
      const root = await openRoot(token, mode);
      try {
        assert.equal(root.kind, 'pkcs11');
        assert.match(root.model, new RegExp(`token "${token.label}".*${mode} mode`));
        assert.equal(root.state(), 'ACTIVE');
        const context = sealContext.keyMaterial('k1', 1);
        const reference = await root.createKeyMaterial(context);
        if (mode === 'keys') assert.equal(reference.length, 17, 'keys mode stores a handle: format byte + 16-byte CKA_ID');
        else assert.equal(reference.length, 1 + 12 + 16 + 32);
        await roundTrip(root, reference, context);
        // A reference is bound to its record.
        await assert.rejects(root.openKey(reference, sealContext.keyMaterial('k2', 1)));
      } finally {
        await root.close();
      }
    });

    test('imported material encrypts like the software key it came from', async () => {
      const token = createSoftHsmToken();
      const root = await openRoot(token, mode);
      try {
        const material = randomBytes(32);
        const copy = Buffer.from(material);
        const context = sealContext.keyMaterial('imported', 1);
        const reference = await root.importKeyMaterial(material, context);
        assert.ok(!reference.includes(copy), 'the stored reference does not hold the material');
        const key = await root.openKey(reference, context);
        const iv = randomBytes(12);
        const { ciphertext, tag } = await key.encrypt(iv, Buffer.from('hello hsm'), Buffer.alloc(0));
        assert.equal(aesGcmDecrypt(copy, iv, ciphertext, Buffer.alloc(0), tag).toString(), 'hello hsm');
        await assert.rejects(root.importKeyMaterial(randomBytes(16), context), /256 bits/);
      } finally {
        await root.close();
      }
    });

    test('seals secrets under the token master key, bound to their context', async () => {
      const token = createSoftHsmToken();
      const root = await openRoot(token, mode);
      try {
        const secret = Buffer.from('a SigV4 secret that must not be stored in the clear');
        const sealed = await root.sealSecret(secret, sealContext.credentialSecret('AKIA1'));
        assert.ok(!sealed.includes(secret));
        assert.deepEqual(await root.unsealSecret(sealed, sealContext.credentialSecret('AKIA1')), secret);
        await assert.rejects(root.unsealSecret(sealed, sealContext.credentialSecret('AKIA2')), AuthenticationTagMismatchError);
      } finally {
        await root.close();
      }
    });
  });
}

describe('PKCS#11 root lifecycle', () => {
  test('keys mode: destroyKeyMaterial removes the object from the token', async () => {
    const token = createSoftHsmToken();
    const root = await openRoot(token, 'keys');
    try {
      const context = sealContext.keyMaterial('gone', 1);
      const reference = await root.createKeyMaterial(context);
      const id = reference.subarray(1).toString('hex');
      assert.match(token.pkcs11Tool(['--list-objects', '--type', 'secrkey']), new RegExp(id));
      await root.destroyKeyMaterial(reference, context);
      assert.doesNotMatch(token.pkcs11Tool(['--list-objects', '--type', 'secrkey']), new RegExp(id));
      await assert.rejects(root.openKey(reference, context), RootUnavailableError);
    } finally {
      await root.close();
    }
  });

  test('many concurrent calls are spread over the pooled sessions and all succeed', async () => {
    const token = createSoftHsmToken();
    const root = await openRoot(token, 'keys', { sessions: 3 });
    try {
      const context = sealContext.keyMaterial('busy', 1);
      const key = await root.openKey(await root.createKeyMaterial(context), context);
      const results = await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          const iv = randomBytes(12);
          const plaintext = Buffer.from(`message ${i}`);
          const { ciphertext, tag } = await key.encrypt(iv, plaintext, Buffer.alloc(0));
          return (await key.decrypt(iv, ciphertext, Buffer.alloc(0), tag)).equals(plaintext);
        }),
      );
      assert.ok(results.every(Boolean));
    } finally {
      await root.close();
    }
  });

  test('a call past its deadline fails with RootTimeoutError and the pool reports DEGRADED for a while', async () => {
    const token = createSoftHsmToken();
    const clock = new ManualClock();
    const config = await createPkcs11MasterKey(token.rootConfig('keys'));
    const pool = await SessionPool.open({
      library: token.library,
      tokenLabel: token.label,
      pin: token.pin,
      sessions: 1,
      callTimeoutMs: 5,
      degradedForMs: 30_000,
      clock,
    });
    try {
      assert.equal(pool.state(), 'ACTIVE');
      const started = Date.now();
      // A 64 MiB encrypt keeps the only session busy far longer than the 5 ms deadline.
      const call = pool.call({
        op: 'encrypt',
        id: masterKeyName(config.masterKeyId!).id,
        iv: randomBytes(12),
        aad: Buffer.alloc(0),
        plaintext: Buffer.alloc(64 * 1024 * 1024),
      });
      await assert.rejects(call, RootTimeoutError);
      assert.ok(Date.now() - started < 1_000, 'the caller is answered at the deadline, not when the HSM finishes');
      assert.equal(pool.state(), 'DEGRADED');
      clock.advance(30_001);
      assert.equal(pool.state(), 'ACTIVE');
    } finally {
      await pool.close();
    }
  });

  test('a crashed worker thread is replaced without a restart', async () => {
    const token = createSoftHsmToken();
    const config = await createPkcs11MasterKey(token.rootConfig('keys'));
    const pool = await SessionPool.open({
      library: token.library,
      tokenLabel: token.label,
      pin: token.pin,
      sessions: 2,
      reconnectIntervalMs: 50,
      clock: systemClock,
    });
    try {
      const master = masterKeyName(config.masterKeyId!);
      const encrypt = () =>
        pool.call({ op: 'encrypt', id: master.id, iv: randomBytes(12), aad: Buffer.alloc(0), plaintext: Buffer.from('x') });
      await encrypt();
      await (pool as unknown as { members: { worker: { terminate(): Promise<number> } }[] }).members[0]!.worker.terminate();
      assert.equal(pool.state(), 'UNAVAILABLE');
      await assert.rejects(encrypt(), RootUnavailableError);
      const deadline = Date.now() + 10_000;
      while (pool.state() !== 'ACTIVE' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(pool.state(), 'ACTIVE');
      await Promise.all([encrypt(), encrypt(), encrypt(), encrypt()]);
    } finally {
      await pool.close();
    }
  });

  test('a full queue refuses new calls at once with RootTimeoutError', async () => {
    const token = createSoftHsmToken();
    const config = await createPkcs11MasterKey(token.rootConfig('wrap'));
    const root = await createPkcs11Root({ ...config, sessions: 1, maxQueuePerSession: 1 });
    try {
      const busy = root.sealSecret(Buffer.alloc(32 * 1024 * 1024), 'big');
      await assert.rejects(
        root.sealSecret(Buffer.from('small'), 'small'),
        (error: Error) => error instanceof RootTimeoutError && /queue is full/.test(error.message),
      );
      assert.equal(root.state(), 'DEGRADED');
      await busy;
      assert.ok((await root.sealSecret(Buffer.from('small'), 'small')).length > 0, 'served again once the queue drains');
    } finally {
      await root.close();
    }
  });

  test('a wrong PIN or a missing token fails to open with a clear message', async () => {
    const token = createSoftHsmToken();
    const config = await createPkcs11MasterKey(token.rootConfig('keys'));
    await assert.rejects(
      createPkcs11Root({ ...config, pinFile: undefined }, { env: { KEYHOLD_PKCS11_PIN: '000000' } }),
      /CKR_PIN_INCORRECT/,
    );
    await assert.rejects(createPkcs11Root({ ...config, tokenLabel: 'no-such-token' }), /no token labelled "no-such-token"/);
    await assert.rejects(createPkcs11Root({ ...config, masterKeyId: '00'.repeat(16) }), /master key 0+ is not on token/);
    await assert.rejects(createPkcs11Root({ ...config, masterKeyId: undefined }), /masterKeyId/);
  });

  test('the PIN comes from an owner-only file or the environment', () => {
    const token = createSoftHsmToken();
    assert.equal(readPin({ pinFile: token.pinFile }), token.pin);
    assert.equal(readPin({}, { KEYHOLD_PKCS11_PIN: 'from-env' }), 'from-env');
    assert.throws(() => readPin({}, {}), /KEYHOLD_PKCS11_PIN/);
    const loose = `${token.pinFile}.loose`;
    writeFileSync(loose, token.pin);
    chmodSync(loose, 0o644);
    assert.throws(() => readPin({ pinFile: loose }), /readable by others/);
  });
});
