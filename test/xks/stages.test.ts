/**
 * The data plane's stages one by one, without a node (docs/architecture.md#encrypt-path): route, decode, resolve, check, and
 * the version choice of Decrypt. The error each stage answers with, and the order of the checks inside
 * "check" (docs/requirements.md#error-order), are the spec's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { checkKeyOperation, requireKeystoreEnabled } from '../../src/xks/check.js';
import { encodeCiphertextMetadata } from '../../src/xks/ciphertext-metadata.js';
import { createRequestDecoder } from '../../src/xks/decoder.js';
import { XksError } from '../../src/xks/errors.js';
import { versionToDecrypt } from '../../src/xks/operations/decrypt.js';
import type { XksGate } from '../../src/xks/pipeline-ports.js';
import type { DecryptBody, EncryptBody, RequestMetadata } from '../../src/xks/requests.js';
import { resolveKey } from '../../src/xks/resolve.js';
import { parseXksPath, type KeyOperation } from '../../src/xks/route.js';
import { liveKey, liveKeystore, liveState } from '../helpers/live-fixtures.js';
import { SPEC_ERROR_STATUS } from '../helpers/xks-answers.js';

/** Asserts that `run` throws the XksError `errorName` with the spec's status, and returns it. */
function throwsXks(run: () => unknown, errorName: string, message?: RegExp): XksError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof XksError, `expected ${errorName}, got ${String(caught)}`);
  assert.equal(caught.errorName, errorName);
  if (caught.status !== 405) assert.equal(caught.status, SPEC_ERROR_STATUS[errorName]);
  if (message) assert.match(caught.publicMessage ?? '', message);
  return caught;
}

describe('stage "route": parseXksPath', () => {
  it('health names no key; the three key operations carry the key id from the path', () => {
    assert.deepEqual(parseXksPath('/kms/xks/v1/health'), { prefix: '', operation: 'GetHealthStatus' });
    assert.deepEqual(parseXksPath('/a/b-c/kms/xks/v1/health'), { prefix: '/a/b-c', operation: 'GetHealthStatus' });
    assert.deepEqual(parseXksPath('/p/kms/xks/v1/keys/k.1_x-y/metadata'), { prefix: '/p', operation: 'GetKeyMetadata', keyId: 'k.1_x-y' });
    assert.deepEqual(parseXksPath('/p/kms/xks/v1/keys/k/encrypt'), { prefix: '/p', operation: 'Encrypt', keyId: 'k' });
    assert.deepEqual(parseXksPath('/p/kms/xks/v1/keys/k/decrypt'), { prefix: '/p', operation: 'Decrypt', keyId: 'k' });
    const longest = 'k'.repeat(128);
    assert.deepEqual(parseXksPath(`/kms/xks/v1/keys/${longest}/encrypt`), { prefix: '', operation: 'Encrypt', keyId: longest });
  });

  it('75: anything else → 404 InvalidUriPathException, with no normalization', () => {
    for (const url of [
      undefined,
      '',
      '/kms/xks/v1',
      '/kms/xks/v1/health/',
      '/kms/xks/v1/health?x=1',
      '//kms/xks/v1/health',
      '/p/./kms/xks/v1/health',
      '/p/../kms/xks/v1/health',
      '/kms/xks/v1/keys//encrypt',
      `/kms/xks/v1/keys/${'k'.repeat(129)}/encrypt`,
      '/kms/xks/v1/keys/k/sign',
      '/kms/xks/v1/keys/k%2F/encrypt',
      `/${'a'.repeat(500)}/kms/xks/v1/health`,
    ]) {
      throwsXks(() => parseXksPath(url), 'InvalidUriPathException');
    }
  });
});

const metadata: RequestMetadata & { awsPrincipalArn: string; kmsKeyArn: string } = {
  awsPrincipalArn: 'arn:aws:iam::111122223333:role/r',
  kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k',
  kmsOperation: 'Encrypt',
  kmsRequestId: 'r-1',
};
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const b64 = (bytes: Buffer) => bytes.toString('base64');

describe('stage "decode": the request decoder', () => {
  const decoder = createRequestDecoder();
  const encryptBody: EncryptBody = { requestMetadata: metadata, plaintext: b64(randomBytes(16)), encryptionAlgorithm: 'AES_GCM' };
  const decryptBody: DecryptBody = {
    requestMetadata: metadata,
    ciphertext: b64(randomBytes(16)),
    ciphertextMetadata: b64(encodeCiphertextMetadata(1)),
    initializationVector: b64(randomBytes(12)),
    authenticationTag: b64(randomBytes(16)),
    encryptionAlgorithm: 'AES_GCM',
  };

  it('body types come from the schemas: required fields are required, `const` fields are literal types', () => {
    // @ts-expect-error plaintext is required by the Encrypt schema
    const noPlaintext: EncryptBody = { requestMetadata: metadata, encryptionAlgorithm: 'AES_GCM' };
    // @ts-expect-error encryptionAlgorithm can only be AES_GCM
    const otherAlgorithm: EncryptBody = { ...encryptBody, encryptionAlgorithm: 'AES_CBC' };
    // @ts-expect-error kmsKeyArn is required in Decrypt's requestMetadata
    const noKeyArn: DecryptBody = { ...decryptBody, requestMetadata: { kmsOperation: 'Decrypt', kmsRequestId: 'r', awsPrincipalArn: 'p' } };
    // The decoder refuses at run time what the types refuse at compile time.
    throwsXks(() => decoder.encrypt(json(noPlaintext)), 'ValidationException', /plaintext/);
    throwsXks(() => decoder.encrypt(json(otherAlgorithm)), 'ValidationException', /encryptionAlgorithm has an unsupported value/);
    throwsXks(() => decoder.decrypt(json(noKeyArn)), 'ValidationException', /kmsKeyArn/);
  });

  it('Encrypt: decodes Base64 fields to bytes and notes a CDIV request; unknown fields are ignored', () => {
    const aad = randomBytes(10);
    const request = decoder.encrypt(
      json({ ...encryptBody, additionalAuthenticatedData: b64(aad), ciphertextDataIntegrityValueAlgorithm: 'SHA_256', future: [1] }),
    );
    assert.deepEqual(request.plaintext, Buffer.from(encryptBody.plaintext, 'base64'));
    assert.deepEqual(request.aad, aad);
    assert.equal(request.cdivRequested, true);
    assert.equal(request.requestMetadata.kmsRequestId, 'r-1');
    const plain = decoder.encrypt(json(encryptBody));
    assert.equal(plain.aad, undefined);
    assert.equal(plain.cdivRequested, false);
  });

  it('400 ValidationException: not JSON, not an object, non-strict Base64, wrong IV, tag or metadata sizes', () => {
    throwsXks(() => decoder.encrypt(Buffer.from('{')), 'ValidationException', /not valid JSON/);
    throwsXks(() => decoder.encrypt(json([encryptBody])), 'ValidationException');
    throwsXks(
      () => decoder.encrypt(json({ ...encryptBody, plaintext: 'AAA' })),
      'ValidationException',
      /plaintext must be standard padded Base64/,
    );
    throwsXks(() => decoder.encrypt(json({ ...encryptBody, plaintext: 'AA-_' })), 'ValidationException', /Base64/);
    throwsXks(() => decoder.encrypt(json({ ...encryptBody, additionalAuthenticatedData: null })), 'ValidationException');
    throwsXks(
      () => decoder.decrypt(json({ ...decryptBody, initializationVector: b64(randomBytes(13)) })),
      'ValidationException',
      /12 or 16/,
    );
    throwsXks(() => decoder.decrypt(json({ ...decryptBody, authenticationTag: b64(randomBytes(15)) })), 'ValidationException', /16 bytes/);
    throwsXks(() => decoder.decrypt(json({ ...decryptBody, ciphertextMetadata: b64(randomBytes(21)) })), 'ValidationException', /20 bytes/);
    assert.equal(decoder.decrypt(json({ ...decryptBody, initializationVector: b64(randomBytes(16)) })).iv.length, 16);
  });

  it('78: above the implementation limits → 501 UnsupportedOperationException', () => {
    const small = createRequestDecoder({ maxPlaintextBytes: 8, maxAadBytes: 4 });
    small.encrypt(json({ ...encryptBody, plaintext: b64(randomBytes(8)) }));
    throwsXks(() => small.encrypt(json({ ...encryptBody, plaintext: b64(randomBytes(9)) })), 'UnsupportedOperationException');
    throwsXks(
      () => small.encrypt(json({ ...encryptBody, additionalAuthenticatedData: b64(randomBytes(5)) })),
      'UnsupportedOperationException',
    );
    throwsXks(() => small.decrypt(json({ ...decryptBody, ciphertext: b64(randomBytes(9)) })), 'UnsupportedOperationException');
  });

  it('health needs only kmsRequestId and kmsOperation; GetKeyMetadata also awsPrincipalArn (spec 1.0.3: no kmsKeyArn)', () => {
    const healthOnly = { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'r' } };
    assert.equal(decoder.metadataOnly('GetHealthStatus', json(healthOnly)).requestMetadata.kmsRequestId, 'r');
    throwsXks(() => decoder.metadataOnly('GetKeyMetadata', json(healthOnly)), 'ValidationException', /awsPrincipalArn/);
    const described = { requestMetadata: { kmsOperation: 'CreateKey', kmsRequestId: 'r', awsPrincipalArn: 'AWS Internal' } };
    assert.equal(decoder.metadataOnly('GetKeyMetadata', json(described)).requestMetadata.awsPrincipalArn, 'AWS Internal');
    for (const body of [{}, { requestMetadata: {} }])
      throwsXks(() => decoder.metadataOnly('GetHealthStatus', json(body)), 'ValidationException');
  });
});

const sealed: XksGate = () => new XksError('InternalException', 'sealed', 'node sealed');
const killSwitch: XksGate = () => new XksError('InvalidStateException', 'stopped', 'node kill switch');

describe('stage "resolve"', () => {
  const keystore = liveKeystore();
  const live = liveState(
    [keystore],
    [
      liveKey({ externalId: 'k1' }),
      liveKey({ externalId: 'gone', status: 'DESTROYED' }),
      liveKey({ externalId: 'canary', internal: true }),
    ],
  );

  it('16/75: finds the key in the keystore group; unknown, destroyed and internal keys → 404 KeyNotFoundException', () => {
    assert.equal(resolveKey(live, [], 'Encrypt', keystore, 'k1').record.externalId, 'k1');
    for (const keyId of ['nope', 'gone', 'canary'])
      throwsXks(() => resolveKey(live, [], 'Encrypt', keystore, keyId), 'KeyNotFoundException');
    const otherGroup = liveKeystore({ groupId: 'group-2', prefix: '/other' });
    throwsXks(() => resolveKey(live, [], 'Encrypt', otherGroup, 'k1'), 'KeyNotFoundException');
  });

  it('an availability gate (sealed) answers before the key is looked up, even for an unknown key', () => {
    throwsXks(() => resolveKey(live, [sealed], 'GetKeyMetadata', keystore, 'nope'), 'InternalException', /sealed/);
  });
});

describe('stage "check": keystore, node-wide refusals, key state, key usage, in docs/requirements.md#error-order order', () => {
  const check = (operation: KeyOperation, { keystore = liveKeystore(), key = liveKey(), gates = [] as XksGate[], cdiv = false } = {}) =>
    checkKeyOperation(gates, operation, keystore, key, cdiv);

  it('passes an enabled key of an enabled keystore for every operation it allows', () => {
    for (const operation of ['GetKeyMetadata', 'Encrypt', 'Decrypt'] as const) check(operation);
    check('Encrypt', { cdiv: true });
  });

  it('77: a disabled or blocked keystore first (the operator reason stays out of the answer), then the kill switch', () => {
    const blocked = liveKeystore({ status: 'BLOCKED', blockReason: 'leak' });
    const error = throwsXks(
      () => check('Encrypt', { keystore: blocked, gates: [killSwitch] }),
      'InvalidStateException',
      /key store is blocked/,
    );
    assert.equal(error.detail, 'keystore blocked: leak');
    assert.doesNotMatch(error.publicMessage ?? '', /leak/);
    throwsXks(() => check('Decrypt', { keystore: liveKeystore({ status: 'DISABLED' }) }), 'InvalidStateException', /key store is disabled/);
    throwsXks(() => check('GetKeyMetadata', { gates: [killSwitch] }), 'InvalidStateException', /stopped/);
    // GetHealthStatus has only the keystore check.
    throwsXks(() => requireKeystoreEnabled(liveKeystore({ status: 'DISABLED' })), 'InvalidStateException');
  });

  it('77: then the key state: a kill switch beats it; GetKeyMetadata of a disabled key passes (it reports DISABLED)', () => {
    const disabled = liveKey({ status: 'DISABLED' });
    throwsXks(() => check('Encrypt', { key: disabled, gates: [killSwitch] }), 'InvalidStateException', /stopped/);
    for (const [status, message] of [
      ['DISABLED', /disabled/],
      ['BLOCKED', /blocked/],
      ['PENDING_DELETION', /pending deletion/],
    ] as const) {
      throwsXks(() => check('Decrypt', { key: liveKey({ status, usage: [] }) }), 'InvalidStateException', message);
    }
    check('GetKeyMetadata', { key: disabled });
  });

  it('76: then the usage: Encrypt needs ENCRYPT (and DECRYPT with a CDIV), Decrypt needs DECRYPT', () => {
    throwsXks(() => check('Encrypt', { key: liveKey({ usage: ['DECRYPT'] }) }), 'InvalidKeyUsageException');
    throwsXks(() => check('Encrypt', { key: liveKey({ usage: ['ENCRYPT'] }), cdiv: true }), 'InvalidKeyUsageException', /DECRYPT/);
    throwsXks(() => check('Decrypt', { key: liveKey({ usage: ['ENCRYPT'] }) }), 'InvalidKeyUsageException');
    check('GetKeyMetadata', { key: liveKey({ usage: [] }) });
  });
});

describe('Decrypt: the version a ciphertext names', () => {
  const key = liveKey({ currentVersion: 3, minDecryptVersion: 2 });
  key.versions.delete(3);
  const cm = (version: number, format = 1) => {
    const bytes = encodeCiphertextMetadata(version);
    bytes.writeUInt8(format, 0);
    return bytes;
  };

  it('54: metadata Keyhold never wrote → InvalidCiphertextException; a refused version → InvalidStateException', () => {
    for (const metadataBytes of [undefined, cm(4), cm(2, 2), Buffer.from('key_version=1'), cm(0)]) {
      throwsXks(() => versionToDecrypt(key, metadataBytes), 'InvalidCiphertextException');
    }
    throwsXks(() => versionToDecrypt(key, cm(1)), 'InvalidStateException', /no longer allowed/);
    throwsXks(() => versionToDecrypt(key, cm(3)), 'InvalidStateException', /revoked/);
    assert.equal(versionToDecrypt(key, cm(2)), 2);
  });
});
