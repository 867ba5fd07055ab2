/**
 * Keyhold driven by the KMS simulator the way AWS KMS would drive it, once on the embedded SQLite store
 * and once on a real PostgreSQL server: key store lifecycle, CreateKey checks, the double envelope for
 * every crypto API, credential rotation through UpdateCustomKeyStore, and ciphertexts across a restart.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createKmsSimulator, isKmsError, runDoctor, type KmsSimulator } from '../../src/kms-sim/index.js';
import type { TestNode } from '../helpers/node-harness.js';
import { admin, adminOk } from '../helpers/xks-client.js';
import { createKeys, restartTestNode, useTestNode } from '../helpers/xks-suite.js';

async function rejectsWith(promise: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isKmsError(error), `expected a KmsError, got ${String(error)}`);
    assert.equal(error.name, name);
    if (message) assert.match(error.message, message);
    return true;
  });
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`Keyhold under the KMS simulator (${dialect})`, () => {
    const suiteNode = useTestNode({ postgres: dialect === 'postgres' });
    let node: TestNode;
    let sim: KmsSimulator;
    let storeId: string;

    before(async () => {
      node = suiteNode();
      await createKeys(node, { 'encrypt-only': ['ENCRYPT'], 'disabled-key': ['ENCRYPT', 'DECRYPT'] }, { disabled: ['disabled-key'] });
      sim = createKmsSimulator({ region: node.region, tls: { ca: node.ca } });
    });

    after(() => sim.close());

    const credential = () => ({ accessKeyId: node.credential.accessKeyId, secretAccessKey: node.credential.secret });

    it('CreateCustomKeyStore and ConnectCustomKeyStore succeed (health with the configured credential)', async () => {
      const created = await sim.createCustomKeyStore({
        name: 'keyhold',
        uriEndpoint: node.url,
        uriPath: '/demo/kms/xks/v1',
        credential: credential(),
      });
      storeId = created.id;
      const connected = await sim.connectCustomKeyStore(storeId);
      assert.equal(connected.connectionState, 'CONNECTED');
    });

    it('CreateCustomKeyStore with a wrong secret fails with XksProxyIncorrectAuthenticationCredentialException', async () => {
      // Another account's KMS: the endpoint and path pair is unique per account and region.
      const otherAccount = createKmsSimulator({ accountId: '444455556666', region: node.region, tls: { ca: node.ca } });
      after(() => otherAccount.close());
      await rejectsWith(
        otherAccount.createCustomKeyStore({
          name: 'wrong-secret',
          uriEndpoint: node.url,
          uriPath: '/demo/kms/xks/v1',
          credential: { accessKeyId: node.credential.accessKeyId, secretAccessKey: randomBytes(32).toString('base64') },
        }),
        'XksProxyIncorrectAuthenticationCredentialException',
      );
    });

    it('CreateCustomKeyStore with a wrong URI path fails with XksProxyInvalidConfigurationException', async () => {
      await rejectsWith(
        sim.createCustomKeyStore({ name: 'wrong-path', uriEndpoint: node.url, uriPath: '/nope/kms/xks/v1', credential: credential() }),
        'XksProxyInvalidConfigurationException',
      );
    });

    it('CreateKey accepts the demo key and refuses unknown, disabled and encrypt-only keys as KMS does', async () => {
      await sim.createKey({ customKeyStoreId: storeId, xksKeyId: node.keyId });
      await rejectsWith(sim.createKey({ customKeyStoreId: storeId, xksKeyId: 'no-such-key' }), 'XksKeyNotFoundException');
      await rejectsWith(
        sim.createKey({ customKeyStoreId: storeId, xksKeyId: 'disabled-key' }),
        'XksKeyInvalidConfigurationException',
        /status/,
      );
      await rejectsWith(
        sim.createKey({ customKeyStoreId: storeId, xksKeyId: 'encrypt-only' }),
        'XksKeyInvalidConfigurationException',
        /usage/,
      );
      await rejectsWith(sim.createKey({ customKeyStoreId: storeId, xksKeyId: node.keyId }), 'XksKeyAlreadyInUseException');
    });

    const kmsKeyId = () => sim.state.keys.values().next().value!.keyId;

    it('GenerateDataKey, GenerateDataKeyWithoutPlaintext, Encrypt, Decrypt and ReEncrypt round-trip through both envelopes', async () => {
      const keyId = kmsKeyId();
      const context = { department: 'marketing', project: 'nile' };
      const dataKey = await sim.generateDataKey({ keyId, encryptionContext: context });
      const decrypted = await sim.decrypt({ ciphertextBlob: dataKey.ciphertextBlob, encryptionContext: context });
      assert.deepEqual(decrypted.plaintext, dataKey.plaintext);

      const withoutPlaintext = await sim.generateDataKeyWithoutPlaintext({ keyId });
      assert.equal((await sim.decrypt({ ciphertextBlob: withoutPlaintext.ciphertextBlob })).plaintext.length, 32);

      const plaintext = randomBytes(4096);
      const encrypted = await sim.encrypt({ keyId, plaintext, encryptionContext: context });
      const reEncrypted = await sim.reEncrypt({
        ciphertextBlob: encrypted.ciphertextBlob,
        sourceEncryptionContext: context,
        destinationKeyId: keyId,
        destinationEncryptionContext: { other: 'context' },
      });
      const back = await sim.decrypt({ ciphertextBlob: reEncrypted.ciphertextBlob, encryptionContext: { other: 'context' } });
      assert.deepEqual(back.plaintext, plaintext);
    });

    it('Decrypt with a different encryption context is rejected by Keyhold (InvalidCiphertextException → KMSInvalidStateException)', async () => {
      const encrypted = await sim.encrypt({ keyId: kmsKeyId(), plaintext: randomBytes(32), encryptionContext: { a: 'b' } });
      await assert.rejects(sim.decrypt({ ciphertextBlob: encrypted.ciphertextBlob, encryptionContext: { a: 'c' } }), (error: unknown) => {
        assert.ok(isKmsError(error));
        assert.equal(error.name, 'KMSInvalidStateException');
        assert.equal(error.proxyErrorName, 'InvalidCiphertextException');
        return true;
      });
    });

    it('every proxy answer passed the KMS-side validators with no conformance warnings', () => {
      assert.deepEqual(sim.conformanceWarnings, []);
      const failures = sim.metrics.calls.filter(
        (c) =>
          c.exceptionName !== 'None' &&
          !['AuthenticationFailedException', 'InvalidUriPathException', 'KeyNotFoundException', 'InvalidCiphertextException'].includes(
            c.exceptionName,
          ),
      );
      assert.deepEqual(failures, []);
    });

    it('credential rotation: add on the proxy, UpdateCustomKeyStore with the new one, remove the old; traffic never stops', async () => {
      const added = await adminOk<{ accessKeyId: string; secret: string }>(node, 'POST', '/keystores/demo/credentials', {});
      const next = { accessKeyId: added.accessKeyId, secretAccessKey: added.secret };
      await sim.updateCustomKeyStore({ customKeyStoreId: storeId, credential: next });
      await sim.generateDataKey({ keyId: kmsKeyId() });
      assert.equal((await admin(node, 'DELETE', `/keystores/demo/credentials/${node.credential.accessKeyId}`)).status, 204);
      await sim.generateDataKey({ keyId: kmsKeyId() });
      await rejectsWith(
        sim.updateCustomKeyStore({ customKeyStoreId: storeId, credential: credential() }),
        'XksProxyIncorrectAuthenticationCredentialException',
      );
      node.credential = { accessKeyId: next.accessKeyId, secret: next.secretAccessKey };
    });

    it('ciphertexts made before a restart still decrypt after it', async () => {
      const plaintext = randomBytes(64);
      const encrypted = await sim.encrypt({ keyId: kmsKeyId(), plaintext });
      sim.close();
      await restartTestNode(node, { databaseUrl: suiteNode().database?.url });
      const back = await sim.decrypt({ ciphertextBlob: encrypted.ciphertextBlob });
      assert.deepEqual(back.plaintext, plaintext);
    });

    it('keyhold doctor (the simulator as a CLI check) passes against this node', async () => {
      const report = await runDoctor({
        endpoint: node.url,
        prefix: '/demo',
        accessKeyId: node.credential.accessKeyId,
        secret: node.credential.secret,
        keyId: node.keyId,
        ca: node.ca.toString(),
      });
      const failed = report.checks.filter((c) => !c.ok);
      assert.deepEqual(failed, []);
      assert.ok(report.checks.length >= 12);
      assert.equal(report.ok, true);
    });
  });
}
