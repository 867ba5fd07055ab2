import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { errorOf, expectError, jsonKeys, okBody } from '../helpers/xks-answers.js';
import { adminOk, decryptBody, encryptBody, metadata, xks } from '../helpers/xks-client.js';
import { restartTestNode, useTestNode } from '../helpers/xks-suite.js';

const node = useTestNode();

const encrypt = (body: unknown) => xks(node(), { operation: 'encrypt', body });
const decrypt = (body: unknown) => xks(node(), { operation: 'decrypt', body });
const b64len = (s: string) => Buffer.from(s, 'base64').length;

async function roundTrip(plaintext: Buffer, aad?: Buffer) {
  const extra = aad ? { additionalAuthenticatedData: aad.toString('base64') } : {};
  const encrypted = okBody(await encrypt(encryptBody(plaintext, extra)), 'encrypt');
  const decrypted = okBody(await decrypt(decryptBody(encrypted, extra)), 'decrypt');
  assert.deepEqual(Buffer.from(decrypted.plaintext, 'base64'), plaintext);
  return encrypted;
}

describe('Encrypt (docs/requirements.md#encrypt)', () => {
  it('32: encrypts 0, 1 and 4300-byte plaintexts (5736 Base64 characters)', async () => {
    for (const size of [0, 1, 4300]) await roundTrip(randomBytes(size));
    assert.equal(randomBytes(4300).toString('base64').length, 5736);
  });

  it('34: an encryptionAlgorithm other than AES_GCM → 400 ValidationException', async () => {
    for (const algorithm of ['AES_GCM_256', 'aes_gcm', 'RSAES_OAEP_SHA_256', '']) {
      expectError(await encrypt(encryptBody(randomBytes(8), { encryptionAlgorithm: algorithm })), 400, 'ValidationException', algorithm);
    }
  });

  it('35: AAD must be Base64 and is authenticated: different or missing AAD fails to decrypt', async () => {
    const aad = Buffer.from('project=nile,department=marketing');
    const encrypted = await roundTrip(randomBytes(32), aad);
    for (const extra of [{}, { additionalAuthenticatedData: Buffer.from('project=nile').toString('base64') }]) {
      expectError(await decrypt(decryptBody(encrypted, extra)), 400, 'InvalidCiphertextException');
    }
    const notBase64 = await encrypt(encryptBody(randomBytes(8), { additionalAuthenticatedData: 'not base64!' }));
    expectError(notBase64, 400, 'ValidationException');
  });

  it('36: handles AAD of 8192 bytes (10924 Base64 characters) on Encrypt and Decrypt', async () => {
    const aad = randomBytes(8192);
    assert.equal(aad.toString('base64').length, 10924);
    await roundTrip(randomBytes(4096), aad);
  });

  it('37: a CDIV algorithm other than SHA_256 → 400 ValidationException', async () => {
    const response = await encrypt(encryptBody(randomBytes(8), { ciphertextDataIntegrityValueAlgorithm: 'SHA_512' }));
    expectError(response, 400, 'ValidationException');
  });

  it('38/49/50: with SHA_256 the response carries the CDIV = b64(SHA-256(AAD‖CM‖IV‖CT‖tag))', async () => {
    const plaintext = randomBytes(64);
    const aad = randomBytes(40);
    const r = okBody(
      await encrypt(
        encryptBody(plaintext, { additionalAuthenticatedData: aad.toString('base64'), ciphertextDataIntegrityValueAlgorithm: 'SHA_256' }),
      ),
      'encrypt',
    );
    const expected = createHash('sha256')
      .update(
        Buffer.concat([
          aad,
          ...[r.ciphertextMetadata, r.initializationVector, r.ciphertext, r.authenticationTag].map((s) => Buffer.from(s, 'base64')),
        ]),
      )
      .digest('base64');
    assert.equal(r.ciphertextDataIntegrityValue, expected);
    const without = okBody(await encrypt(encryptBody(plaintext)), 'encrypt');
    assert.equal(without.ciphertextDataIntegrityValue, undefined);
  });

  it('39/40/41/42/46/47/48: response has ciphertext, IV (12 B), tag (16 B), metadata ≤ 20 B; ciphertext length = plaintext length', async () => {
    for (const size of [0, 17, 300]) {
      const response = await encrypt(encryptBody(randomBytes(size)));
      const r = okBody(response, 'encrypt');
      assert.equal(response.headers['content-type'], 'application/json');
      assert.equal(b64len(r.ciphertext), size);
      assert.equal(b64len(r.initializationVector), 12);
      assert.equal(b64len(r.authenticationTag), 16);
      assert.ok(b64len(r.ciphertextMetadata) <= 20);
      for (const field of ['ciphertext', 'initializationVector', 'authenticationTag', 'ciphertextMetadata'] as const) {
        assert.equal(Buffer.from(r[field], 'base64').toString('base64'), r[field], `${field} is standard Base64`);
      }
    }
  });

  it('43/54: ciphertextMetadata is bound into the tag: altered or dropped metadata → InvalidCiphertextException', async () => {
    const encrypted = await roundTrip(randomBytes(32));
    const altered = Buffer.from(encrypted.ciphertextMetadata, 'base64');
    altered.writeUInt8(altered.readUInt8(altered.length - 1) ^ 1, altered.length - 1);
    for (const ciphertextMetadata of [altered.toString('base64'), undefined, Buffer.from('key_version=1').toString('base64')]) {
      expectError(await decrypt(decryptBody({ ...encrypted, ciphertextMetadata })), 400, 'InvalidCiphertextException');
    }
  });

  it('44: the confusion attack fails end to end: AAD := old CM with no CM → InvalidCiphertextException', async () => {
    const encrypted = await roundTrip(randomBytes(32));
    const response = await decrypt(
      decryptBody({ ...encrypted, ciphertextMetadata: undefined }, { additionalAuthenticatedData: encrypted.ciphertextMetadata }),
    );
    expectError(response, 400, 'InvalidCiphertextException');
  });

  it('Encrypt is non-deterministic: a fresh IV every time', async () => {
    const plaintext = randomBytes(16);
    const ivs = new Set<string>();
    for (let i = 0; i < 20; i++) ivs.add(okBody(await encrypt(encryptBody(plaintext)), 'encrypt').initializationVector);
    assert.equal(ivs.size, 20);
  });

  it('78: plaintext above the supported 8192 bytes → 501 UnsupportedOperationException; AAD above 16384 too', async () => {
    expectError(await encrypt(encryptBody(randomBytes(8193))), 501, 'UnsupportedOperationException');
    const bigAad = await encrypt(encryptBody(randomBytes(8), { additionalAuthenticatedData: randomBytes(16385).toString('base64') }));
    expectError(bigAad, 501, 'UnsupportedOperationException');
  });
});

describe('Decrypt (docs/requirements.md#decrypt)', () => {
  it('52/57: decrypts 4300-byte ciphertexts; plaintext length = ciphertext length', async () => {
    await roundTrip(randomBytes(4300), randomBytes(100));
  });

  it('53: request ciphertextMetadata over 20 bytes → 400 ValidationException', async () => {
    const encrypted = await roundTrip(randomBytes(8));
    const response = await decrypt(decryptBody({ ...encrypted, ciphertextMetadata: randomBytes(21).toString('base64') }));
    expectError(response, 400, 'ValidationException');
  });

  it('55: an IV that is not 12 or 16 bytes → 400', async () => {
    const encrypted = await roundTrip(randomBytes(8));
    for (const size of [0, 8, 11, 13, 15, 17, 32]) {
      const response = await decrypt(decryptBody({ ...encrypted, initializationVector: randomBytes(size).toString('base64') }));
      assert.equal(response.status, 400, `IV of ${size} bytes`);
      assert.ok(['ValidationException', 'InvalidCiphertextException'].includes(errorOf(response)?.errorName ?? ''), response.text);
    }
  });

  it('55: a 16-byte IV is accepted (and simply fails authentication here)', async () => {
    const encrypted = await roundTrip(randomBytes(8));
    const response = await decrypt(decryptBody({ ...encrypted, initializationVector: randomBytes(16).toString('base64') }));
    expectError(response, 400, 'InvalidCiphertextException');
  });

  it('56: a tag that is not 16 bytes → 400', async () => {
    const encrypted = await roundTrip(randomBytes(8));
    for (const size of [0, 12, 15, 17]) {
      const response = await decrypt(decryptBody({ ...encrypted, authenticationTag: randomBytes(size).toString('base64') }));
      assert.equal(response.status, 400, `tag of ${size} bytes`);
    }
  });

  it('59: a tampered ciphertext, IV, AAD or tag → 400 InvalidCiphertextException', async () => {
    const aad = randomBytes(24);
    const encrypted = await roundTrip(randomBytes(48), aad);
    const flip = (value: string) => {
      const bytes = Buffer.from(value, 'base64');
      bytes.writeUInt8(bytes.readUInt8(0) ^ 0x80, 0);
      return bytes.toString('base64');
    };
    const cases = [
      decryptBody({ ...encrypted, ciphertext: flip(encrypted.ciphertext) }, { additionalAuthenticatedData: aad.toString('base64') }),
      decryptBody(
        { ...encrypted, initializationVector: flip(encrypted.initializationVector) },
        { additionalAuthenticatedData: aad.toString('base64') },
      ),
      decryptBody(
        { ...encrypted, authenticationTag: flip(encrypted.authenticationTag) },
        { additionalAuthenticatedData: aad.toString('base64') },
      ),
      decryptBody(encrypted, { additionalAuthenticatedData: flip(aad.toString('base64')) }),
    ];
    for (const body of cases) {
      const response = await decrypt(body);
      expectError(response, 400, 'InvalidCiphertextException');
      assert.deepEqual(jsonKeys(response).sort(), ['errorMessage', 'errorName']);
    }
  });

  it('a ciphertext made under one key does not decrypt under another key', async () => {
    await adminOk(node(), 'POST', '/keys', { id: 'other-key', keystore: 'demo' });
    const encrypted = await roundTrip(randomBytes(32));
    const response = await xks(node(), { operation: 'decrypt', keyId: 'other-key', body: decryptBody(encrypted) });
    expectError(response, 400, 'InvalidCiphertextException');
  });

  it('missing required fields → 400 ValidationException', async () => {
    const encrypted = await roundTrip(randomBytes(8));
    for (const field of ['ciphertext', 'initializationVector', 'authenticationTag', 'encryptionAlgorithm', 'requestMetadata']) {
      const body: Record<string, unknown> = decryptBody(encrypted);
      delete body[field];
      expectError(await decrypt(body), 400, 'ValidationException', field);
    }
    const noPlaintext: Record<string, unknown> = encryptBody(randomBytes(4));
    delete noPlaintext.plaintext;
    expectError(await encrypt(noPlaintext), 400, 'ValidationException');
  });

  it('decrypts ciphertexts made before a restart (material survives in the database, wrapped)', async () => {
    const plaintext = randomBytes(40);
    const encrypted = okBody(await encrypt(encryptBody(plaintext)), 'encrypt');
    await restartTestNode(node());
    const response = await decrypt({ ...decryptBody(encrypted), requestMetadata: metadata('Decrypt') });
    assert.deepEqual(Buffer.from(okBody(response, 'decrypt').plaintext, 'base64'), plaintext);
  });
});
