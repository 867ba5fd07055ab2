/** Proxies that break one rule each: the simulator must notice every one. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KMS_MESSAGES } from '../../src/kms-sim/error-mapping.js';
import { isKmsError } from '../../src/kms-sim/kms-error.js';
import type { Misbehaviour } from './fixtures/loopback-xks-server.js';
import { connectedKey, storeInput, withProxy } from './fixtures/harness.js';

/** Asserts a KmsError with this name and, if given, message and failed check. */
function kmsError(name: string, message?: string, failedCheck?: string) {
  return (error: unknown) => {
    assert.ok(isKmsError(error), String(error));
    assert.equal(error.name, name, error.message);
    if (message !== undefined) assert.equal(error.message, message);
    if (failedCheck !== undefined) assert.ok(error.failedChecks.includes(failedCheck), error.failedChecks.join(', '));
    return true;
  };
}

describe('Encrypt answers KMS must reject (docs/kms-client.md#response-checks)', () => {
  const cases: Array<[Misbehaviour, string]> = [
    ['wrong-ciphertext-length', 'ciphertext-length-equals-plaintext-length'],
    ['short-tag', 'tag-is-16-bytes'],
    ['long-metadata', 'metadata-at-most-20-bytes'],
    ['wrong-cdiv', 'cdiv-matches'],
    ['plaintext-as-ciphertext', 'ciphertext-differs-from-plaintext'],
    ['url-safe-base64', 'ciphertextMetadata-strict-base64'],
  ];
  for (const [misbehaviour, check] of cases) {
    it(`${misbehaviour} → KMSInvalidStateException (${check})`, () =>
      withProxy({}, async (server, sim) => {
        const { key } = await connectedKey(sim, server);
        server.misbehave.add(misbehaviour);
        for (const call of [
          () => sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('some plaintext') }),
          () => sim.generateDataKey({ keyId: key.keyId }),
          () => sim.generateDataKeyWithoutPlaintext({ keyId: key.keyId }),
        ]) {
          await assert.rejects(call(), kmsError('KMSInvalidStateException', KMS_MESSAGES.cannotInterpret, check));
        }
        const last = sim.metrics.calls.at(-1)!;
        assert.equal(last.outcome, 'malformed-response');
        assert.equal(last.errorType, 'Non-retryable errors');
      }));
  }

  it('a wrong CDIV passes unnoticed only when no CDIV was requested', () =>
    withProxy({ misbehave: ['wrong-cdiv'] }, async (server, sim) => {
      const { key } = await connectedKey(sim, server);
      const { ciphertextBlob } = await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x'), ciphertextDataIntegrity: false });
      assert.deepEqual((await sim.decrypt({ ciphertextBlob })).plaintext, Buffer.from('x'));
    }));
});

describe('Decrypt answers KMS must reject', () => {
  it('a proxy that ignores the AAD is caught by the inner layer', () =>
    withProxy({ misbehave: ['ignore-aad'] }, async (server, sim) => {
      const { key } = await connectedKey(sim, server);
      const { ciphertextBlob } = await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x'), encryptionContext: { a: '1' } });
      await assert.rejects(
        sim.decrypt({ ciphertextBlob, encryptionContext: { a: '2' } }),
        kmsError('KMSInvalidStateException', KMS_MESSAGES.proxyReturnedInvalidCiphertext),
      );
    }));

  it('a non-JSON error body reads as "cannot interpret"', () =>
    withProxy({ misbehave: ['non-json-error'] }, async (server, sim) => {
      const { key } = await connectedKey(sim, server);
      const { ciphertextBlob } = await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x'), encryptionContext: { a: '1' } });
      await assert.rejects(
        sim.decrypt({ ciphertextBlob, encryptionContext: { a: '2' } }),
        kmsError('KMSInvalidStateException', KMS_MESSAGES.cannotInterpret, 'error-body-is-json-object'),
      );
    }));
});

describe('health answers that must fail Create and Connect', () => {
  it('11 fleet entries: create → XksProxyInvalidResponseException; connect → XKS_PROXY_INVALID_RESPONSE', () =>
    withProxy({}, async (server, sim) => {
      const store = await sim.createCustomKeyStore(storeInput(server));
      server.misbehave.add('health-11-entries');
      assert.deepEqual(await sim.connectCustomKeyStore(store.id), {
        connectionState: 'FAILED',
        connectionErrorCode: 'XKS_PROXY_INVALID_RESPONSE',
      });
      await assert.rejects(
        sim.createCustomKeyStore(storeInput(server, 'second')),
        kmsError('XksProxyUriInUseException'),
        'the endpoint+path pair stays unique',
      );
      sim.disconnectCustomKeyStore(store.id);
      await assert.rejects(
        sim.updateCustomKeyStore({ customKeyStoreId: store.id, uriPath: '/demo/kms/xks/v1', credential: storeInput(server).credential }),
        kmsError('XksProxyInvalidResponseException', KMS_MESSAGES.cannotInterpret, 'ekmFleetDetails-has-1-to-10-entries'),
      );
    }));

  it('all EKMs UNAVAILABLE: create → XksProxyUriUnreachableException; connect → XKS_PROXY_NOT_REACHABLE', () =>
    withProxy({ misbehave: ['health-all-unavailable'] }, async (server, sim) => {
      await assert.rejects(
        sim.createCustomKeyStore(storeInput(server)),
        kmsError('XksProxyUriUnreachableException', KMS_MESSAGES.unhealthy),
      );
      server.misbehave.delete('health-all-unavailable');
      const store = await sim.createCustomKeyStore(storeInput(server));
      server.misbehave.add('health-all-unavailable');
      assert.equal((await sim.connectCustomKeyStore(store.id)).connectionErrorCode, 'XKS_PROXY_NOT_REACHABLE');
      // A FAILED store must be disconnected before it can be connected again.
      await assert.rejects(sim.connectCustomKeyStore(store.id), kmsError('CustomKeyStoreInvalidStateException'));
      server.misbehave.delete('health-all-unavailable');
      server.misbehave.add('health-one-degraded');
      sim.disconnectCustomKeyStore(store.id);
      assert.deepEqual(await sim.connectCustomKeyStore(store.id), { connectionState: 'CONNECTED' });
    }));

  it('a wrong secret: create → XksProxyIncorrectAuthenticationCredentialException; connect → INVALID_CREDENTIALS', () =>
    withProxy({}, async (server, sim) => {
      const input = storeInput(server);
      const wrong = { ...input, credential: { ...input.credential, secretAccessKey: 'TheWrongSecretButStillAValidLookingOne12345=' } };
      await assert.rejects(
        sim.createCustomKeyStore(wrong),
        kmsError('XksProxyIncorrectAuthenticationCredentialException', KMS_MESSAGES.authenticationFailed),
      );
      const store = await sim.createCustomKeyStore(input);
      server.credentials[input.credential.accessKeyId] = 'rotated-away';
      assert.equal((await sim.connectCustomKeyStore(store.id)).connectionErrorCode, 'INVALID_CREDENTIALS');
      assert.equal(sim.describeCustomKeyStore(store.id).connectionState, 'FAILED');
    }));

  it('a wrong URI path: create → XksProxyInvalidConfigurationException', () =>
    withProxy({}, async (server, sim) => {
      await assert.rejects(
        sim.createCustomKeyStore({ ...storeInput(server), uriPath: '/other/kms/xks/v1' }),
        kmsError('XksProxyInvalidConfigurationException', KMS_MESSAGES.invalidUriPath),
      );
    }));

  it('a proxy that never checks signatures still looks healthy to KMS (only the doctor can tell)', () =>
    withProxy({ misbehave: ['skip-auth'] }, async (server, sim) => {
      const wrong = { ...storeInput(server), credential: { accessKeyId: 'SOMEOTHERACCESSKEYID2345', secretAccessKey: 'x'.repeat(44) } };
      const store = await sim.createCustomKeyStore(wrong);
      assert.equal(store.connectionState, 'DISCONNECTED');
    }));
});

describe('timeouts (250 ms, one retry on network timeout)', () => {
  it('a proxy slower than 250 ms twice: exactly one retry, re-signed, ~500 ms, XKS_PROXY_TIMED_OUT', () =>
    withProxy({}, async (server, sim) => {
      const store = await sim.createCustomKeyStore(storeInput(server));
      const slowFrom = server.requests.length;
      const slow = new Set([slowFrom, slowFrom + 1]);
      server.setDelay((index) => (slow.has(index) ? 300 : 0));
      const result = await sim.connectCustomKeyStore(store.id);
      assert.deepEqual(result, { connectionState: 'FAILED', connectionErrorCode: 'XKS_PROXY_TIMED_OUT' });
      const attempts = server.requests.slice(slowFrom);
      assert.equal(attempts.length, 2, 'one try plus exactly one retry');
      assert.ok(attempts.every((request) => /SignedHeaders=host;x-amz-date/.test(String(request.headers.authorization))));
      assert.equal(
        (attempts[0]?.json?.requestMetadata as Record<string, unknown>).kmsRequestId,
        (attempts[1]?.json?.requestMetadata as Record<string, unknown>).kmsRequestId,
        'the retry repeats the same kmsRequestId',
      );
      const call = sim.metrics.calls.at(-1)!;
      assert.equal(call.attempts, 2);
      assert.ok(call.latencyMs >= 490 && call.latencyMs < 800, `latency ${call.latencyMs}`);
      assert.deepEqual([call.errorType, call.exceptionName], ['Retryable errors', 'XksProxyUnreachableException']);
    }));

  it('slow once, then fast: the retry succeeds; crypto timeouts map to KMSInvalidStateException', () =>
    withProxy({}, async (server, sim) => {
      const { key } = await connectedKey(sim, server);
      let next = server.requests.length;
      server.setDelay((index) => (index === next ? 300 : 0));
      const { ciphertextBlob } = await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x') });
      assert.equal(sim.metrics.calls.at(-1)?.attempts, 2);
      next = server.requests.length;
      server.setDelay((index) => (index >= next ? 300 : 0));
      await assert.rejects(sim.decrypt({ ciphertextBlob }), kmsError('KMSInvalidStateException', KMS_MESSAGES.timedOut));
      await assert.rejects(
        sim.createKey({ customKeyStoreId: key.customKeyStoreId, xksKeyId: 'key-2' }),
        kmsError('CustomKeyStoreInvalidStateException', KMS_MESSAGES.timedOut),
      );
    }));
});
