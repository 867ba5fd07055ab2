import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { ManualClock } from '../../src/core/clock.js';
import { additionalDataFor, canonicalEncryptionContext, openInner, parseBlob, sealInner, serializeBlob } from '../../src/kms-sim/blob.js';
import { createKmsSigner } from '../../src/kms-sim/signer.js';

describe('simulator blob (docs/kms-client.md#blob)', () => {
  const fields = {
    keyId: randomUUID(),
    initializationVector: randomBytes(12),
    authenticationTag: randomBytes(16),
    ciphertextMetadata: Buffer.from('v1'),
    ciphertext: randomBytes(60),
  };

  it('round-trips with and without metadata and with a 16-byte IV', () => {
    assert.deepEqual(parseBlob(serializeBlob(fields)), fields);
    const { ciphertextMetadata: _unused, ...withoutMetadata } = { ...fields, initializationVector: randomBytes(16) };
    assert.deepEqual(parseBlob(serializeBlob(withoutMetadata)), withoutMetadata);
  });

  it('starts with the versioned header and rejects damaged blobs', () => {
    const blob = serializeBlob(fields);
    assert.equal(blob.subarray(0, 4).toString(), 'XSIM');
    assert.equal(blob[4], 1);
    assert.equal(parseBlob(blob.subarray(0, blob.length - 1)), undefined);
    assert.equal(parseBlob(Buffer.concat([blob, Buffer.from([0])])), undefined);
    const wrongVersion = Buffer.from(blob);
    wrongVersion[4] = 2;
    assert.equal(parseBlob(wrongVersion), undefined);
    assert.equal(parseBlob(Buffer.from('not a blob')), undefined);
  });

  it('canonicalizes the encryption context independent of key order', () => {
    assert.deepEqual(canonicalEncryptionContext({ b: '2', a: '1' }), canonicalEncryptionContext({ a: '1', b: '2' }));
    assert.notDeepEqual(canonicalEncryptionContext({ a: '1' }), canonicalEncryptionContext({ a: '2' }));
    // Length prefixes keep {"ab":"c"} and {"a":"bc"} apart.
    assert.notDeepEqual(canonicalEncryptionContext({ ab: 'c' }), canonicalEncryptionContext({ a: 'bc' }));
  });

  it('binds the key and encryption context into the inner layer, and the AAD is never empty', () => {
    const hbk = randomBytes(32);
    const keyId = randomUUID();
    const aad = additionalDataFor(keyId, { purpose: 'test' });
    assert.ok(additionalDataFor(keyId).length > 0);
    const inner = sealInner(hbk, Buffer.from('data key'), aad, randomBytes(12));
    assert.deepEqual(openInner(hbk, inner, aad), Buffer.from('data key'));
    assert.equal(openInner(hbk, inner, additionalDataFor(keyId, { purpose: 'other' })), undefined);
    assert.equal(openInner(hbk, inner, additionalDataFor(randomUUID(), { purpose: 'test' })), undefined);
    assert.equal(openInner(randomBytes(32), inner, aad), undefined);
  });
});

describe('KMS-style signer (docs/kms-client.md#sigv4-vectors)', () => {
  it('reproduces the verified vector with SignedHeaders host;x-amz-date and leaves content-type unsigned', async () => {
    const sign = createKmsSigner(new ManualClock(Date.UTC(2024, 0, 2, 3, 4, 5)));
    const headers = await sign({
      method: 'POST',
      host: 'xks.example.com',
      path: '/p/kms/xks/v1/health',
      body: Buffer.from('{"requestMetadata":{"kmsOperation":"KmsHealthCheck","kmsRequestId":"x"}}'),
      credential: { accessKeyId: 'BETWEEN2TENAND3TENCHARACTERS', secretAccessKey: 'PleaseReplaceThisWithSomeSecretOfLength43To64' },
      region: 'us-east-1',
    });
    assert.equal(
      headers.authorization,
      'AWS4-HMAC-SHA256 Credential=BETWEEN2TENAND3TENCHARACTERS/20240102/us-east-1/kms-xks-proxy/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, Signature=95d2a7451fbe11d91e01698add7f8ae77f06d7862dd020825c98966a524565b3',
    );
    assert.equal(headers['x-amz-date'], '20240102T030405Z');
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['x-amz-content-sha256'], undefined);
  });
});
