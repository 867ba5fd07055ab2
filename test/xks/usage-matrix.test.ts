import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, decryptBody, encryptBody, metadata, xks } from '../helpers/xks-client.js';

let node: TestNode;
let decryptable: Record<string, string>;
before(async () => {
  node = await startTestNode();
  for (const [id, usage] of [
    ['both', ['ENCRYPT', 'DECRYPT']],
    ['encrypt-only', ['ENCRYPT']],
    ['decrypt-only', ['DECRYPT']],
    ['impotent', []],
  ] as const) {
    const created = await admin(node, 'POST', '/keys', { id, keystore: 'demo', usage });
    assert.equal(created.status, 201, created.text);
  }
  decryptable = (await xks(node, { operation: 'encrypt', keyId: 'both', body: encryptBody(randomBytes(32)) })).json;
});
after(() => node.close());

const encrypt = (keyId: string, cdiv = false) =>
  xks(node, {
    operation: 'encrypt',
    keyId,
    body: encryptBody(randomBytes(32), cdiv ? { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' } : {}),
  });
const decryptWith = (keyId: string, encrypted: Record<string, string>) =>
  xks(node, { operation: 'decrypt', keyId, body: decryptBody(encrypted) });
const usageOf = async (keyId: string) =>
  (await xks(node, { operation: 'metadata', keyId, body: { requestMetadata: metadata('CreateKey') } })).json.keyUsage;

function expectKeyUsageError(response: { status: number; json: { errorName: string } }) {
  assert.equal(response.status, 400);
  assert.equal(response.json.errorName, 'InvalidKeyUsageException');
}

describe('keys with every usage subset (xks-spec.md §16.1, items 27 and 76)', () => {
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
    const encrypted = await encrypt('encrypt-only');
    assert.equal(encrypted.status, 200);
    expectKeyUsageError(await encrypt('encrypt-only', true));
    expectKeyUsageError(await decryptWith('encrypt-only', encrypted.json));
  });

  it('76: decrypt-only: encrypt → InvalidKeyUsageException; decrypt reaches the crypto', async () => {
    expectKeyUsageError(await encrypt('decrypt-only'));
    const response = await decryptWith('decrypt-only', decryptable);
    // Usage allows it; the ciphertext belongs to another key, so authentication fails.
    assert.equal(response.json.errorName, 'InvalidCiphertextException');
  });

  it('76: neither: encrypt and decrypt → InvalidKeyUsageException', async () => {
    expectKeyUsageError(await encrypt('impotent'));
    expectKeyUsageError(await encrypt('impotent', true));
    expectKeyUsageError(await decryptWith('impotent', decryptable));
  });

  it('77: a disabled key answers InvalidStateException to Encrypt and Decrypt', async () => {
    await admin(node, 'POST', '/keys/both/disable');
    try {
      for (const response of [await encrypt('both'), await decryptWith('both', decryptable)]) {
        assert.equal(response.status, 400);
        assert.equal(response.json.errorName, 'InvalidStateException');
      }
    } finally {
      await admin(node, 'POST', '/keys/both/enable');
    }
    assert.equal((await decryptWith('both', decryptable)).status, 200);
  });
});
