import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XKS_ERROR_NAMES } from '../../src/xks/errors.js';
import { KMS_MESSAGES, mapProxyOutcome, type OperationClass, type ProxyOutcome } from '../../src/kms-sim/error-mapping.js';
import { classifyForMetrics } from '../../src/kms-sim/metrics.js';

const proxyError = (errorName: (typeof XKS_ERROR_NAMES)[number]): ProxyOutcome => ({ kind: 'proxy-error', errorName });
const transport = (failure: 'tcp' | 'tls' | 'timeout' | 'network'): ProxyOutcome => ({ kind: 'transport', failure });

describe('error mapping (docs/kms-client.md#error-mapping)', () => {
  it('gives every crypto failure KMSInvalidStateException with the outcome-specific message', () => {
    const cases: Array<[ProxyOutcome, string]> = [
      [proxyError('InvalidCiphertextException'), KMS_MESSAGES.proxyRejectedCiphertext],
      [{ kind: 'inner-layer-failed' }, KMS_MESSAGES.proxyReturnedInvalidCiphertext],
      [proxyError('AuthenticationFailedException'), KMS_MESSAGES.authenticationFailed],
      [proxyError('AccessDeniedException'), KMS_MESSAGES.accessDenied],
      [proxyError('KeyNotFoundException'), KMS_MESSAGES.externalKeyNotFound],
      [proxyError('InvalidStateException'), KMS_MESSAGES.externalKeyNotEnabled],
      [proxyError('InvalidKeyUsageException'), KMS_MESSAGES.externalKeyUsage],
      [proxyError('ThrottlingException'), KMS_MESSAGES.throttled],
      [proxyError('DependencyTimeoutException'), KMS_MESSAGES.dependencyTimeout],
      [proxyError('InternalException'), KMS_MESSAGES.internal],
      [proxyError('UnsupportedOperationException'), KMS_MESSAGES.unsupportedOperation],
      [proxyError('ValidationException'), KMS_MESSAGES.cannotInterpret],
      [{ kind: 'malformed-response' }, KMS_MESSAGES.cannotInterpret],
      [transport('tcp'), KMS_MESSAGES.noTcp],
      [transport('tls'), KMS_MESSAGES.noTls],
      [transport('timeout'), KMS_MESSAGES.timedOut],
      [{ kind: 'store-not-connected' }, KMS_MESSAGES.storeNotConnected],
    ];
    for (const [outcome, message] of cases) {
      assert.deepEqual(mapProxyOutcome(outcome, 'crypto'), { name: 'KMSInvalidStateException', message }, JSON.stringify(outcome));
    }
  });

  it('maps Create/UpdateCustomKeyStore failures to the XksProxy* exceptions', () => {
    const cases: Array<[ProxyOutcome, string]> = [
      [proxyError('AuthenticationFailedException'), 'XksProxyIncorrectAuthenticationCredentialException'],
      [proxyError('InvalidUriPathException'), 'XksProxyInvalidConfigurationException'],
      [proxyError('ValidationException'), 'XksProxyInvalidResponseException'],
      [proxyError('InternalException'), 'XksProxyInvalidResponseException'],
      [proxyError('DependencyTimeoutException'), 'XksProxyUriUnreachableException'],
      [proxyError('ThrottlingException'), 'XksProxyUriUnreachableException'],
      [{ kind: 'malformed-response' }, 'XksProxyInvalidResponseException'],
      [{ kind: 'no-ekm-available' }, 'XksProxyUriUnreachableException'],
      [transport('tcp'), 'XksProxyUriUnreachableException'],
      [transport('tls'), 'XksProxyUriUnreachableException'],
      [transport('timeout'), 'XksProxyUriUnreachableException'],
      // "–" in the spec: a health answer KMS has no mapping for reads as "cannot interpret".
      [proxyError('KeyNotFoundException'), 'XksProxyInvalidResponseException'],
    ];
    for (const [outcome, name] of cases) assert.equal(mapProxyOutcome(outcome, 'mgmt-create-update').name, name, JSON.stringify(outcome));
    assert.equal(mapProxyOutcome(transport('tls'), 'mgmt-create-update').message, KMS_MESSAGES.noTls);
    assert.equal(mapProxyOutcome(proxyError('KeyNotFoundException'), 'mgmt-create-update').message, KMS_MESSAGES.cannotInterpret);
  });

  it('maps ConnectCustomKeyStore failures to a ConnectionErrorCode (docs/kms-client.md#connection-errors)', () => {
    const cases: Array<[ProxyOutcome, string]> = [
      [proxyError('AuthenticationFailedException'), 'INVALID_CREDENTIALS'],
      [proxyError('AccessDeniedException'), 'XKS_PROXY_ACCESS_DENIED'],
      [proxyError('InvalidUriPathException'), 'XKS_PROXY_INVALID_CONFIGURATION'],
      [proxyError('ValidationException'), 'XKS_PROXY_INVALID_RESPONSE'],
      [proxyError('InternalException'), 'XKS_PROXY_INVALID_RESPONSE'],
      [proxyError('DependencyTimeoutException'), 'XKS_PROXY_NOT_REACHABLE'],
      [{ kind: 'malformed-response' }, 'XKS_PROXY_INVALID_RESPONSE'],
      [{ kind: 'no-ekm-available' }, 'XKS_PROXY_NOT_REACHABLE'],
      [transport('tcp'), 'XKS_PROXY_NOT_REACHABLE'],
      [transport('network'), 'NETWORK_ERRORS'],
      [transport('tls'), 'XKS_PROXY_INVALID_TLS_CONFIGURATION'],
      [transport('timeout'), 'XKS_PROXY_TIMED_OUT'],
      [proxyError('UnsupportedOperationException'), 'XKS_PROXY_INVALID_RESPONSE'],
    ];
    for (const [outcome, code] of cases) {
      assert.equal(mapProxyOutcome(outcome, 'mgmt-connect').connectionErrorCode, code, JSON.stringify(outcome));
    }
  });

  it('maps CreateKey failures, including the XksKey* exceptions', () => {
    const cases: Array<[ProxyOutcome, string, string?]> = [
      [proxyError('KeyNotFoundException'), 'XksKeyNotFoundException', KMS_MESSAGES.createKeyExternalKeyNotFound],
      [proxyError('InvalidStateException'), 'XksKeyInvalidConfigurationException', KMS_MESSAGES.externalKeyNotEnabled],
      [proxyError('InvalidKeyUsageException'), 'XksKeyInvalidConfigurationException'],
      [proxyError('AccessDeniedException'), 'KMSInvalidStateException'],
      [proxyError('AuthenticationFailedException'), 'CustomKeyStoreInvalidStateException', KMS_MESSAGES.authenticationFailed],
      [proxyError('UnsupportedOperationException'), 'CustomKeyStoreInvalidStateException'],
      [proxyError('InvalidCiphertextException'), 'CustomKeyStoreInvalidStateException', KMS_MESSAGES.cannotInterpret],
      [transport('timeout'), 'CustomKeyStoreInvalidStateException', KMS_MESSAGES.timedOut],
      [{ kind: 'malformed-response' }, 'CustomKeyStoreInvalidStateException', KMS_MESSAGES.cannotInterpret],
      [{ kind: 'store-not-connected' }, 'CustomKeyStoreInvalidStateException', KMS_MESSAGES.storeNotConnected],
    ];
    for (const [outcome, name, message] of cases) {
      const mapped = mapProxyOutcome(outcome, 'create-key');
      assert.equal(mapped.name, name, JSON.stringify(outcome));
      if (message) assert.equal(mapped.message, message);
    }
  });

  it('has a message for every proxy error name in every operation class', () => {
    const classes: OperationClass[] = ['mgmt-create-update', 'mgmt-connect', 'create-key', 'crypto'];
    for (const errorName of XKS_ERROR_NAMES) {
      for (const operationClass of classes) {
        const mapped = mapProxyOutcome(proxyError(errorName), operationClass);
        assert.ok(mapped.name.length > 0 && mapped.message.length > 0, `${errorName}/${operationClass}`);
      }
    }
  });
});

describe('XksProxyErrors classification (docs/kms-client.md#simulator-errors)', () => {
  it('splits retryable and non-retryable outcomes', () => {
    assert.deepEqual(classifyForMetrics('success'), { errorType: 'N/A', exceptionName: 'None' });
    for (const name of ['InternalException', 'DependencyTimeoutException', 'ThrottlingException'] as const) {
      assert.deepEqual(classifyForMetrics(proxyError(name)), { errorType: 'Retryable errors', exceptionName: name });
    }
    for (const name of ['AuthenticationFailedException', 'AccessDeniedException', 'KeyNotFoundException', 'ValidationException'] as const) {
      assert.deepEqual(classifyForMetrics(proxyError(name)), { errorType: 'Non-retryable errors', exceptionName: name });
    }
    assert.deepEqual(classifyForMetrics(transport('timeout')), {
      errorType: 'Retryable errors',
      exceptionName: 'XksProxyUnreachableException',
    });
    assert.equal(classifyForMetrics({ kind: 'malformed-response' }).errorType, 'Non-retryable errors');
  });
});
