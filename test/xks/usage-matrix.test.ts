import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { EncryptResponse } from '../../src/xks/operations/encrypt.js';
import { expectError, okBody, type Answer } from '../helpers/xks-answers.js';
import { admin, decryptBody, encryptBody, metadata, xks } from '../helpers/xks-client.js';
import { createKeys, useTestNode } from '../helpers/xks-suite.js';

let decryptable: EncryptResponse;
const node = useTestNode({
  setUp: async (started) => {
    await createKeys(started, { both: ['ENCRYPT', 'DECRYPT'], 'encrypt-only': ['ENCRYPT'], 'decrypt-only': ['DECRYPT'], impotent: [] });
    decryptable = okBody(await xks(started, { operation: 'encrypt', keyId: 'both', body: encryptBody(randomBytes(32)) }), 'encrypt');
  },
});

const encrypt = (keyId: string, cdiv = false) =>
  xks(node(), {
    operation: 'encrypt',
    keyId,
    body: encryptBody(randomBytes(32), cdiv ? { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' } : {}),
  });
const decryptWith = (keyId: string, encrypted: EncryptResponse) =>
  xks(node(), { operation: 'decrypt', keyId, body: decryptBody(encrypted) });
const usageOf = async (keyId: string) =>
  okBody(await xks(node(), { operation: 'metadata', keyId, body: { requestMetadata: metadata('CreateKey') } }), 'metadata').keyUsage;

const expectKeyUsageError = (response: Answer) => expectError(response, 400, 'InvalidKeyUsageException');

describe('keys with every usage subset (docs/kms-client.md#curl, docs/requirements.md items 27 and 76)', () => {
  it("27: GetKeyMetadata reports each key's usage", async () => {
    assert.deepEqual(await usageOf('both'), ['ENCRYPT', 'DECRYPT']);
    assert.deepEqual(await usageOf('encrypt-only'), ['ENCRYPT']);
    assert.deepEqual(await usageOf('decrypt-only'), ['DECRYPT']);
    assert.deepEqual(await usageOf('impotent'), []);
  });

  it('76: ENCRYPT+DECRYPT: encrypt, encrypt with CDIV and decrypt all work', async () => {
    assert.equal((await encrypt('both')).status, 200);
    assert.equal((await encrypt('both', true)).status, 200);
    assert.equal((await decryptWith('both', decryptable)).status, 200);
  });

  it('76: encrypt-only: encrypt works; CDIV encrypt (which decrypts to verify) and decrypt → InvalidKeyUsageException', async () => {
    const encrypted = okBody(await encrypt('encrypt-only'), 'encrypt');
    expectKeyUsageError(await encrypt('encrypt-only', true));
    expectKeyUsageError(await decryptWith('encrypt-only', encrypted));
  });

  it('76: decrypt-only: encrypt → InvalidKeyUsageException; decrypt reaches the crypto', async () => {
    expectKeyUsageError(await encrypt('decrypt-only'));
    // Usage allows it; the ciphertext belongs to another key, so authentication fails.
    expectError(await decryptWith('decrypt-only', decryptable), 400, 'InvalidCiphertextException');
  });

  it('76: neither: encrypt and decrypt → InvalidKeyUsageException', async () => {
    expectKeyUsageError(await encrypt('impotent'));
    expectKeyUsageError(await encrypt('impotent', true));
    expectKeyUsageError(await decryptWith('impotent', decryptable));
  });

  it('77: a disabled key answers InvalidStateException to Encrypt and Decrypt', async () => {
    await admin(node(), 'POST', '/keys/both/disable');
    try {
      for (const response of [await encrypt('both'), await decryptWith('both', decryptable)]) {
        expectError(response, 400, 'InvalidStateException');
      }
    } finally {
      await admin(node(), 'POST', '/keys/both/enable');
    }
    assert.equal((await decryptWith('both', decryptable)).status, 200);
  });
});
