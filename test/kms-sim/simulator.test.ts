/**
 * The simulator end to end against a correct loopback XKS proxy. Over 300 lines on purpose: one catalogue
 * of the simulator's calls against one proxy, sharing its set-up; the misbehaving proxy, the transport and
 * the doctor have files of their own.
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KMS_MESSAGES } from '../../src/kms-sim/error-mapping.js';
import { isKmsError } from '../../src/kms-sim/kms-error.js';
import { parseBlob } from '../../src/kms-sim/blob.js';
import { isJsonObject } from '../../src/core/json.js';
import type { KmsSimulator } from '../../src/kms-sim/simulator-api.js';
import type { LoopbackXksServer } from './fixtures/loopback-xks-server.js';
import { ACCESS_KEY_ID, connectedKey, connectedStore, simulatorFor, startServer, storeInput, URI_PATH } from './fixtures/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function rejectsWith(name: string, message?: string) {
  return (error: unknown) => {
    assert.ok(isKmsError(error), `not a KmsError: ${String(error)}`);
    assert.equal(error.name, name, `${error.name}: ${error.message}`);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  };
}

describe('simulator against a conforming proxy', () => {
  let server: LoopbackXksServer;
  let sim: KmsSimulator;

  before(async () => {
    server = await startServer({
      keys: {
        'key-1': {},
        'key-2': {},
        'disabled-key': { keyStatus: 'DISABLED' },
        'encrypt-only': { keyUsage: ['ENCRYPT'] },
        'rsa-key': { keySpec: 'RSA_2048' },
        'many-usages': { keyUsage: ['ENCRYPT', 'DECRYPT', 'WRAP', 'UNWRAP'] },
      },
    });
  });
  beforeEach(() => {
    sim = simulatorFor();
  });
  afterEach(() => sim.close());
  after(() => server.close());

  it('creates and connects a store with GetHealthStatus carrying only kmsRequestId and kmsOperation', async () => {
    const before = server.requests.length;
    const store = await sim.createCustomKeyStore(storeInput(server));
    assert.match(store.id, /^cks-[0-9a-f]{17}$/);
    assert.equal(store.connectionState, 'DISCONNECTED');
    assert.equal(JSON.stringify(store).includes('PleaseReplace'), false, 'descriptions never show the secret');
    const connected = await sim.connectCustomKeyStore(store.id);
    assert.deepEqual(connected, { connectionState: 'CONNECTED' });

    const [create, connect] = server.requests.slice(before);
    assert.equal(create?.path, `${URI_PATH}/health`);
    const createMetadata = create.json?.requestMetadata;
    const connectMetadata = connect?.json?.requestMetadata;
    assert.ok(isJsonObject(createMetadata) && isJsonObject(connectMetadata));
    assert.deepEqual(Object.keys(createMetadata).sort(), ['kmsOperation', 'kmsRequestId']);
    assert.equal(createMetadata.kmsOperation, 'CreateCustomKeyStore');
    assert.equal(connectMetadata.kmsOperation, 'ConnectCustomKeyStore');
    assert.match(String(connectMetadata.kmsRequestId), UUID);
  });

  it('signs like KMS: SignedHeaders host;x-amz-date, service kms-xks-proxy, content-type sent but unsigned', async () => {
    await sim.createCustomKeyStore(storeInput(server));
    const request = server.requests.at(-1)!;
    assert.match(
      String(request.headers.authorization),
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/\\d{8}/us-east-1/kms-xks-proxy/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$`,
      ),
    );
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['x-amz-content-sha256'], undefined);
    assert.equal(request.headers.host, `localhost:${server.port}`);
  });

  it('CreateKey sends GetKeyMetadata with kmsOperation CreateKey and no kmsKeyArn', async () => {
    const { key } = await connectedKey(sim, server, 'many-usages');
    assert.match(key.keyId, UUID);
    assert.equal(key.arn, `arn:aws:kms:us-east-1:111122223333:key/${key.keyId}`);
    assert.equal(key.keyState, 'Enabled');
    const request = server.requests.at(-1)!;
    assert.equal(request.path, `${URI_PATH}/keys/many-usages/metadata`);
    const metadata = request.json?.requestMetadata as Record<string, unknown>;
    assert.deepEqual(Object.keys(metadata).sort(), ['awsPrincipalArn', 'kmsOperation', 'kmsRequestId']);
    assert.equal(metadata.kmsOperation, 'CreateKey');
    assert.equal(sim.state.keys.get(key.keyId)?.hbk.length, 32);
  });

  it('round-trips Encrypt/Decrypt, GenerateDataKey(WithoutPlaintext) and ReEncrypt through the double envelope', async () => {
    const { key } = await connectedKey(sim, server, 'key-1');
    const { key: other } = await connectedKey(sim, server, 'key-2');
    const context = { tenant: 'acme', purpose: 'test' };
    const plaintext = Buffer.from('attack at dawn');

    const encrypted = await sim.encrypt({ keyId: key.keyId, plaintext, encryptionContext: context });
    assert.equal(encrypted.keyId, key.arn);
    const decrypted = await sim.decrypt({
      ciphertextBlob: encrypted.ciphertextBlob,
      encryptionContext: { purpose: 'test', tenant: 'acme' },
    });
    assert.deepEqual(decrypted.plaintext, plaintext);

    const dataKey = await sim.generateDataKey({ keyId: key.arn });
    assert.equal(dataKey.plaintext.length, 32);
    assert.deepEqual((await sim.decrypt({ ciphertextBlob: dataKey.ciphertextBlob, keyId: key.keyId })).plaintext, dataKey.plaintext);

    const withoutPlaintext = await sim.generateDataKeyWithoutPlaintext({ keyId: key.keyId, numberOfBytes: 64 });
    assert.equal(Object.hasOwn(withoutPlaintext, 'plaintext'), false);
    assert.equal((await sim.decrypt({ ciphertextBlob: withoutPlaintext.ciphertextBlob })).plaintext.length, 64);

    const reEncrypted = await sim.reEncrypt({
      ciphertextBlob: encrypted.ciphertextBlob,
      sourceEncryptionContext: context,
      destinationKeyId: other.keyId,
      destinationEncryptionContext: { moved: 'yes' },
    });
    assert.equal(reEncrypted.sourceKeyId, key.arn);
    assert.equal(reEncrypted.keyId, other.arn);
    const [decryptLeg, encryptLeg] = server.requests.slice(-2);
    assert.equal((decryptLeg?.json?.requestMetadata as Record<string, unknown>).kmsOperation, 'ReEncrypt');
    assert.equal(decryptLeg?.path, `${URI_PATH}/keys/key-1/decrypt`);
    assert.equal((encryptLeg?.json?.requestMetadata as Record<string, unknown>).kmsOperation, 'ReEncrypt');
    assert.equal(encryptLeg?.path, `${URI_PATH}/keys/key-2/encrypt`);
    assert.deepEqual(
      (await sim.decrypt({ ciphertextBlob: reEncrypted.ciphertextBlob, encryptionContext: { moved: 'yes' } })).plaintext,
      plaintext,
    );
  });

  it('never shows the proxy the caller plaintext, and keeps only proxy outputs in the blob', async () => {
    const { key } = await connectedKey(sim, server, 'key-1');
    const plaintext = Buffer.from('a very recognisable plaintext string');
    const { ciphertextBlob } = await sim.encrypt({ keyId: key.keyId, plaintext, encryptionContext: { a: 'b' } });
    const request = server.requests.at(-1)!;
    const proxyPlaintext = Buffer.from(String(request.json?.plaintext), 'base64');
    assert.equal(proxyPlaintext.includes(plaintext), false);
    assert.equal(proxyPlaintext.length, plaintext.length + 28, 'inner layer = iv12 | ciphertext | tag16');
    const aad = Buffer.from(String(request.json?.additionalAuthenticatedData), 'base64');
    assert.equal(aad.subarray(0, 4).toString(), 'XSIM');
    assert.ok(aad.includes(Buffer.from('a')) && aad.includes(Buffer.from('b')));
    assert.equal(request.json?.encryptionAlgorithm, 'AES_GCM');
    assert.equal(request.json.ciphertextDataIntegrityValueAlgorithm, 'SHA_256');
    const fields = parseBlob(ciphertextBlob);
    assert.equal(fields?.keyId, key.keyId);
    assert.equal(fields.ciphertext.length, proxyPlaintext.length);
    assert.equal(ciphertextBlob.includes(proxyPlaintext), false, 'the blob does not carry the inner layer');
    assert.deepEqual(fields.ciphertextMetadata, Buffer.from('v1'));
  });

  it('sends requestMetadata per docs/kms-client.md#request-metadata and lets callers override or extend it', async () => {
    const { key } = await connectedKey(sim, server, 'key-1');
    await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x') });
    const metadata = server.requests.at(-1)?.json?.requestMetadata as Record<string, unknown>;
    assert.deepEqual(Object.keys(metadata).sort(), ['awsPrincipalArn', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId']);
    assert.equal(metadata.kmsKeyArn, key.arn);
    assert.equal(metadata.kmsOperation, 'Encrypt');

    const longArn = `arn:aws:iam::111122223333:role/${'r'.repeat(2048 - 'arn:aws:iam::111122223333:role/'.length)}`;
    assert.equal(longArn.length, 2048);
    const { ciphertextBlob } = await sim.encrypt({
      keyId: key.keyId,
      plaintext: Buffer.from('y'),
      requestMetadata: {
        kmsOperation: 'BulkEncrypt',
        awsPrincipalArn: longArn,
        kmsViaService: 'ebs',
        sourceIdentity: 'alice',
        kmsRequestId: 'not-a-uuid',
      },
    });
    const sent = server.requests.at(-1)?.json?.requestMetadata as Record<string, unknown>;
    assert.equal(sent.kmsOperation, 'BulkEncrypt');
    assert.equal(sent.awsPrincipalArn, longArn);
    assert.equal(sent.kmsViaService, 'ebs');
    assert.equal(sent.sourceIdentity, 'alice');
    assert.equal(sent.kmsRequestId, 'not-a-uuid');

    await sim.decrypt({ ciphertextBlob, requestMetadata: { kmsViaService: undefined, awsPrincipalArn: 'AWS Internal' } });
    const decryptMetadata = server.requests.at(-1)?.json?.requestMetadata as Record<string, unknown>;
    assert.equal(decryptMetadata.kmsOperation, 'Decrypt');
    assert.equal(decryptMetadata.awsPrincipalArn, 'AWS Internal');
    assert.equal(Object.hasOwn(decryptMetadata, 'kmsViaService'), false);
  });

  it('makes the CDIV request optional per call and per simulator', async () => {
    const { key } = await connectedKey(sim, server, 'key-1');
    await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x'), ciphertextDataIntegrity: false });
    assert.equal(Object.hasOwn(server.requests.at(-1)!.json!, 'ciphertextDataIntegrityValueAlgorithm'), false);

    const quiet = simulatorFor({ ciphertextDataIntegrityByDefault: false, sendAdditionalAuthenticatedData: false });
    try {
      const { key: quietKey } = await connectedKey(quiet, server, 'key-1');
      const { ciphertextBlob } = await quiet.encrypt({ keyId: quietKey.keyId, plaintext: Buffer.from('x'), encryptionContext: { a: 'b' } });
      const body = server.requests.at(-1)!.json!;
      assert.equal(Object.hasOwn(body, 'ciphertextDataIntegrityValueAlgorithm'), false);
      assert.equal(Object.hasOwn(body, 'additionalAuthenticatedData'), false);
      assert.deepEqual((await quiet.decrypt({ ciphertextBlob, encryptionContext: { a: 'b' } })).plaintext, Buffer.from('x'));
      // Without AAD at the proxy, only KMS's inner layer notices a wrong context.
      await assert.rejects(
        quiet.decrypt({ ciphertextBlob, encryptionContext: { a: 'c' } }),
        rejectsWith('KMSInvalidStateException', KMS_MESSAGES.proxyReturnedInvalidCiphertext),
      );
    } finally {
      quiet.close();
    }
  });

  it('fails Decrypt with a different encryption context at the proxy (InvalidCiphertextException)', async () => {
    const { key } = await connectedKey(sim, server, 'key-1');
    const { ciphertextBlob } = await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x'), encryptionContext: { a: 'b' } });
    await assert.rejects(sim.decrypt({ ciphertextBlob, encryptionContext: { a: 'c' } }), (error: unknown) => {
      rejectsWith('KMSInvalidStateException', KMS_MESSAGES.proxyRejectedCiphertext)(error);
      assert.equal(isKmsError(error) && error.proxyErrorName, 'InvalidCiphertextException');
      return true;
    });
    await assert.rejects(sim.decrypt({ ciphertextBlob }), rejectsWith('KMSInvalidStateException', KMS_MESSAGES.proxyRejectedCiphertext));
  });

  it('rejects bad blobs, the wrong KeyId and oversized plaintext before calling the proxy', async () => {
    const { key } = await connectedKey(sim, server, 'key-1');
    const { key: other } = await connectedKey(sim, server, 'key-2');
    const { ciphertextBlob } = await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x') });
    const count = server.requests.length;
    await assert.rejects(sim.decrypt({ ciphertextBlob: ciphertextBlob.subarray(1) }), rejectsWith('InvalidCiphertextException'));
    await assert.rejects(sim.decrypt({ ciphertextBlob, keyId: other.keyId }), rejectsWith('IncorrectKeyException'));
    await assert.rejects(sim.encrypt({ keyId: key.keyId, plaintext: Buffer.alloc(4097) }), rejectsWith('ValidationException'));
    await assert.rejects(
      sim.encrypt({ keyId: '00000000-0000-0000-0000-000000000000', plaintext: Buffer.from('x') }),
      rejectsWith('NotFoundException'),
    );
    assert.equal(server.requests.length, count);
    // 4096 bytes of caller plaintext is 4124 bytes at the proxy: within the 4300-byte minimum.
    const big = await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.alloc(4096, 1) });
    assert.equal((await sim.decrypt({ ciphertextBlob: big.ciphertextBlob })).plaintext.length, 4096);
  });

  it('applies KMS pre-checks: disabled KMS key, disconnected store, no proxy traffic', async () => {
    const { store, key } = await connectedKey(sim, server, 'key-1');
    const { ciphertextBlob } = await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x') });
    const count = server.requests.length;
    sim.disableKey(key.keyId);
    await assert.rejects(sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x') }), rejectsWith('DisabledException'));
    sim.enableKey(key.keyId);
    sim.disconnectCustomKeyStore(store.id);
    assert.equal(sim.describeKey(key.keyId).keyState, 'Unavailable');
    await assert.rejects(sim.decrypt({ ciphertextBlob }), rejectsWith('KMSInvalidStateException', KMS_MESSAGES.storeNotConnected));
    await assert.rejects(
      sim.createKey({ customKeyStoreId: store.id, xksKeyId: 'key-2' }),
      rejectsWith('CustomKeyStoreInvalidStateException', KMS_MESSAGES.storeNotConnected),
    );
    assert.equal(server.requests.length, count, 'no requests while disconnected');
    await sim.connectCustomKeyStore(store.id);
    assert.equal(sim.describeKey(key.keyId).keyState, 'Enabled');
    assert.deepEqual((await sim.decrypt({ ciphertextBlob })).plaintext, Buffer.from('x'));
  });

  it('maps proxy key errors at crypto time: external key disabled, usage withdrawn, key gone', async () => {
    const { key } = await connectedKey(sim, server, 'key-2');
    const external = server.keys;
    external['key-2']!.keyStatus = 'DISABLED';
    await assert.rejects(
      sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x') }),
      rejectsWith('KMSInvalidStateException', KMS_MESSAGES.externalKeyNotEnabled),
    );
    delete external['key-2']!.keyStatus;
    external['key-2']!.keyUsage = ['DECRYPT'];
    await assert.rejects(
      sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x') }),
      rejectsWith('KMSInvalidStateException', KMS_MESSAGES.externalKeyUsage),
    );
    delete external['key-2']!.keyUsage;
    const saved = external['key-2']!;
    delete external['key-2'];
    await assert.rejects(
      sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x') }),
      rejectsWith('KMSInvalidStateException', KMS_MESSAGES.externalKeyNotFound),
    );
    external['key-2'] = saved;
  });

  it('CreateKey enforces the docs/kms-client.md#create-key checks with the verbatim messages', async () => {
    const store = await connectedStore(sim, server);
    const create = (xksKeyId: string) => sim.createKey({ customKeyStoreId: store.id, xksKeyId });
    await assert.rejects(create('no-such-key'), rejectsWith('XksKeyNotFoundException', KMS_MESSAGES.createKeyExternalKeyNotFound));
    await assert.rejects(
      create('disabled-key'),
      rejectsWith(
        'XksKeyInvalidConfigurationException',
        'The status of the external key must be ENABLED. The status of specified external key is DISABLED.',
      ),
    );
    await assert.rejects(
      create('encrypt-only'),
      rejectsWith(
        'XksKeyInvalidConfigurationException',
        'The key usage of the external key must include ENCRYPT and DECRYPT. The key use of specified external key is ENCRYPT.',
      ),
    );
    await assert.rejects(
      create('rsa-key'),
      rejectsWith(
        'XksKeyInvalidConfigurationException',
        'The key spec of the external key must be AES_256. The key spec of specified external key is RSA_2048.',
      ),
    );
    await assert.rejects(create('bad id!'), rejectsWith('ValidationException'));
    await create('key-1');
    await assert.rejects(create('key-1'), rejectsWith('XksKeyAlreadyInUseException'));
  });

  it('validates store parameters and uniqueness before any proxy call', async () => {
    const count = server.requests.length;
    const input = storeInput(server, 'unique-name');
    await assert.rejects(sim.createCustomKeyStore({ ...input, uriPath: '/demo/kms/xks/v2/extra' }), rejectsWith('ValidationException'));
    await assert.rejects(sim.createCustomKeyStore({ ...input, uriEndpoint: 'http://localhost' }), rejectsWith('ValidationException'));
    await assert.rejects(
      sim.createCustomKeyStore({
        ...input,
        credential: { accessKeyId: 'lowercase-not-allowed-here', secretAccessKey: input.credential.secretAccessKey },
      }),
      rejectsWith('ValidationException'),
    );
    await assert.rejects(
      sim.createCustomKeyStore({ ...input, credential: { accessKeyId: input.credential.accessKeyId, secretAccessKey: 'short' } }),
      (error: unknown) => rejectsWith('ValidationException')(error) && !(error as Error).message.includes('short'),
    );
    assert.equal(server.requests.length, count);
    await sim.createCustomKeyStore(input);
    await assert.rejects(sim.createCustomKeyStore(input), rejectsWith('CustomKeyStoreNameInUseException'));
    await assert.rejects(sim.createCustomKeyStore({ ...input, name: 'another-name' }), rejectsWith('XksProxyUriInUseException'));
  });

  it('UpdateCustomKeyStore checks health with the NEW credential and keeps the old values on failure', async () => {
    const { store } = await connectedKey(sim, server, 'key-1');
    const credentials = server.credentials;
    const newCredential = { accessKeyId: 'NEWACCESSKEYIDFORROTATION', secretAccessKey: 'AnotherSecretThatIsLongEnoughToPassTheKmsCheck=' };
    await assert.rejects(
      sim.updateCustomKeyStore({ customKeyStoreId: store.id, credential: newCredential }),
      rejectsWith('XksProxyIncorrectAuthenticationCredentialException', KMS_MESSAGES.authenticationFailed),
    );
    assert.match(String(server.requests.at(-1)?.headers.authorization), /Credential=NEWACCESSKEYIDFORROTATION\//);
    assert.equal((server.requests.at(-1)?.json?.requestMetadata as Record<string, unknown>).kmsOperation, 'UpdateCustomKeyStore');
    assert.equal(sim.describeCustomKeyStore(store.id).accessKeyId, ACCESS_KEY_ID);

    credentials[newCredential.accessKeyId] = newCredential.secretAccessKey;
    const updated = await sim.updateCustomKeyStore({
      customKeyStoreId: store.id,
      credential: newCredential,
      newName: `renamed-${store.id}`,
    });
    assert.equal(updated.accessKeyId, newCredential.accessKeyId);
    assert.equal(updated.connectionState, 'CONNECTED');
    await assert.rejects(
      sim.updateCustomKeyStore({ customKeyStoreId: store.id, uriEndpoint: 'https://elsewhere.example.com' }),
      rejectsWith('CustomKeyStoreInvalidStateException'),
    );
    await assert.rejects(
      sim.updateCustomKeyStore({ customKeyStoreId: store.id, uriPath: '/wrong/kms/xks/v1' }),
      rejectsWith('XksProxyInvalidConfigurationException', KMS_MESSAGES.invalidUriPath),
    );
    assert.equal(sim.describeCustomKeyStore(store.id).uriPath, URI_PATH);
  });

  it('records XksProxyErrors/XksProxyLatency for every call', async () => {
    sim.metrics.reset();
    const { key } = await connectedKey(sim, server, 'key-1');
    await sim
      .encrypt({ keyId: key.keyId, plaintext: Buffer.from('x'), encryptionContext: { a: 'b' } })
      .then(({ ciphertextBlob }) => sim.decrypt({ ciphertextBlob, encryptionContext: { a: 'WRONG' } }).catch(() => undefined));
    const summary = sim.metrics.calls.map((call) => [call.xksOperation, call.kmsOperation, call.errorType, call.exceptionName]);
    assert.deepEqual(summary, [
      ['GetHealthStatus', 'CreateCustomKeyStore', 'N/A', 'None'],
      ['GetHealthStatus', 'ConnectCustomKeyStore', 'N/A', 'None'],
      ['GetKeyMetadata', 'CreateKey', 'N/A', 'None'],
      ['Encrypt', 'Encrypt', 'N/A', 'None'],
      ['Decrypt', 'Decrypt', 'Non-retryable errors', 'InvalidCiphertextException'],
    ]);
    assert.ok(sim.metrics.calls.every((call) => call.attempts === 1 && call.latencyMs > 0 && call.latencyMs < 250));
    assert.ok(sim.metrics.calls.every((call) => call.customKeyStoreId?.startsWith('cks-')));
  });

  it('runs the periodic KmsHealthCheck without changing the connection state', async () => {
    const { store } = await connectedKey(sim, server, 'key-1');
    server.misbehave.add('health-all-unavailable');
    try {
      const result = await sim.runHealthCheck(store.id);
      assert.ok(result.ok);
      assert.equal((server.requests.at(-1)?.json?.requestMetadata as Record<string, unknown>).kmsOperation, 'KmsHealthCheck');
      assert.equal(sim.describeCustomKeyStore(store.id).connectionState, 'CONNECTED');
    } finally {
      server.misbehave.delete('health-all-unavailable');
    }
  });
});
