/**
 * How the simulated KMS turns a proxy outcome into the exception its caller sees.
 * The table is the one in docs/kms-client.md#error-mapping (the spec's "KMS considerations"), keyed by
 * (proxy outcome, KMS operation class). The messages are AWS's own words, from that table of the spec; where
 * it elides the start of a sentence, the KMS Developer Guide's troubleshooting page completes it.
 */
import type { XksErrorName } from '../xks/errors.js';

export type OperationClass = 'mgmt-create-update' | 'mgmt-connect' | 'create-key' | 'crypto';

/** The ConnectionErrorCode values that matter for external key stores (docs/kms-client.md#connection-errors). */
export type ConnectionErrorCode =
  | 'INTERNAL_ERROR'
  | 'INVALID_CREDENTIALS'
  | 'NETWORK_ERRORS'
  | 'XKS_PROXY_ACCESS_DENIED'
  | 'XKS_PROXY_INVALID_CONFIGURATION'
  | 'XKS_PROXY_INVALID_RESPONSE'
  | 'XKS_PROXY_INVALID_TLS_CONFIGURATION'
  | 'XKS_PROXY_NOT_REACHABLE'
  | 'XKS_PROXY_TIMED_OUT';

/** What happened on the wire, from KMS's point of view. */
export type ProxyOutcome =
  /** The proxy answered with one of the 12 spec error names. */
  | { kind: 'proxy-error'; errorName: XksErrorName }
  /** Non-JSON body, unknown errorName, or a 200 that fails the KMS-side checks. */
  | { kind: 'malformed-response' }
  /** Health answered, but every EKM is UNAVAILABLE. */
  | { kind: 'no-ekm-available' }
  /** Decrypt answered, but KMS's own inner layer did not authenticate the returned plaintext. */
  | { kind: 'inner-layer-failed' }
  | { kind: 'transport'; failure: TransportFailureKind }
  | { kind: 'store-not-connected' };

/** tcp: no TCP connection; tls: no TLS session; timeout: the deadline passed (after the one retry); network: reset/DNS. */
export type TransportFailureKind = 'tcp' | 'tls' | 'timeout' | 'network';

export const KMS_MESSAGES = {
  cannotInterpret:
    'AWS KMS cannot interpret the response from the external key store proxy. If you see this error repeatedly, report it to your external key store proxy administrator.',
  externalKeyNotEnabled:
    'The external key associated with this KMS key in an external key store is not enabled in the external key manager. Enable the external key…',
  proxyRejectedCiphertext:
    'The external key store proxy rejected the request because the specified ciphertext or encryption context is corrupted, missing, or otherwise invalid.',
  proxyReturnedInvalidCiphertext:
    'The ciphertext that the external key store proxy submitted for decryption, or the encryption context, is corrupted, missing, or otherwise invalid.',
  externalKeyUsage:
    'The external key associated with this KMS key … does not support the requested operation. Enable the operation on the key…',
  authenticationFailed:
    'The external key store proxy rejected the request because it could not authenticate AWS KMS. Verify the XKS proxy authentication credentials…',
  accessDenied:
    'The external key store proxy denied access to the operation. Verify that the user and the external key are both authorized for this operation, and try the request again.',
  externalKeyNotFound:
    'The external key associated with this KMS key … was not found in its external key manager. If the external key ID … is incorrect, create a new KMS key…',
  invalidUriPath: 'The external key store proxy rejected the request because of an invalid URI path. Verify the URI path…',
  unsupportedOperation:
    'The external key store proxy does not support the requested operation. If you see this error repeatedly, report it…',
  dependencyTimeout: 'The external key store proxy did not respond to the request in the time allotted. Retry…',
  throttled: 'The external key store proxy rejected the request due to a very high request rate. Reduce the frequency of your calls…',
  internal:
    'The external key store proxy rejected the request because it cannot communicate with the external key manager. Verify that the external key store proxy configuration is correct and that the external key manager is available.',
  noTcp: 'AWS KMS cannot communicate with the external key store proxy. This might be a transient network issue…',
  noTls:
    'AWS KMS cannot establish a TLS connection to the external key store proxy. Verify the TLS configuration, including its certificate.',
  timedOut: 'AWS KMS rejected the request because the external key store proxy did not respond in time. Retry…',
  unhealthy: 'The external key store proxy is in an unhealthy state…',
  storeNotConnected:
    'This KMS key is in a custom key store that is not connected to its external key store proxy. Connect the external key store and try the request again.',
  /** CreateKey only (docs/kms-client.md#create-key). */
  createKeyExternalKeyNotFound: 'The external key store proxy rejected the request because it could not find the external key.',
} as const;

/** CreateKey's checks of the GetKeyMetadata answer (docs/kms-client.md#create-key, verbatim patterns). */
export const CREATE_KEY_MESSAGES = {
  keySpec: (keySpec: string) => `The key spec of the external key must be AES_256. The key spec of specified external key is ${keySpec}.`,
  keyStatus: (status: string) => `The status of the external key must be ENABLED. The status of specified external key is ${status}.`,
  keyUsage: (usage: string) =>
    `The key usage of the external key must include ENCRYPT and DECRYPT. The key use of specified external key is ${usage}.`,
} as const;

const CKS_INVALID_STATE = 'CustomKeyStoreInvalidStateException';
const KMS_INVALID_STATE = 'KMSInvalidStateException';
const URI_UNREACHABLE = 'XksProxyUriUnreachableException';
const INVALID_RESPONSE = 'XksProxyInvalidResponseException';

/** One row of docs/kms-client.md#error-mapping. A missing column ("–" in the spec) reads as a response KMS "cannot interpret". */
interface MappingRow {
  message: string;
  mgmt?: string;
  createKey?: string;
  /** Overrides `message` for CreateKey. */
  createKeyMessage?: string;
  connectCode?: ConnectionErrorCode;
}

type OutcomeKey = XksErrorName | Exclude<ProxyOutcome['kind'], 'proxy-error' | 'transport'> | TransportFailureKind;

export const ERROR_MAPPING_TABLE: Readonly<Record<OutcomeKey, MappingRow>> = {
  ValidationException: {
    message: KMS_MESSAGES.cannotInterpret,
    mgmt: INVALID_RESPONSE,
    createKey: CKS_INVALID_STATE,
    connectCode: 'XKS_PROXY_INVALID_RESPONSE',
  },
  InvalidStateException: { message: KMS_MESSAGES.externalKeyNotEnabled, createKey: 'XksKeyInvalidConfigurationException' },
  InvalidCiphertextException: { message: KMS_MESSAGES.proxyRejectedCiphertext },
  InvalidKeyUsageException: { message: KMS_MESSAGES.externalKeyUsage, createKey: 'XksKeyInvalidConfigurationException' },
  AuthenticationFailedException: {
    message: KMS_MESSAGES.authenticationFailed,
    mgmt: 'XksProxyIncorrectAuthenticationCredentialException',
    createKey: CKS_INVALID_STATE,
    connectCode: 'INVALID_CREDENTIALS',
  },
  // The spec says KMSInvalidStateException for CreateKey; the Developer Guide says CustomKeyStoreInvalidStateException.
  AccessDeniedException: { message: KMS_MESSAGES.accessDenied, createKey: KMS_INVALID_STATE, connectCode: 'XKS_PROXY_ACCESS_DENIED' },
  KeyNotFoundException: {
    message: KMS_MESSAGES.externalKeyNotFound,
    createKey: 'XksKeyNotFoundException',
    createKeyMessage: KMS_MESSAGES.createKeyExternalKeyNotFound,
  },
  InvalidUriPathException: {
    message: KMS_MESSAGES.invalidUriPath,
    mgmt: 'XksProxyInvalidConfigurationException',
    createKey: CKS_INVALID_STATE,
    connectCode: 'XKS_PROXY_INVALID_CONFIGURATION',
  },
  // The spec names "XksKeyInvalidResponseException", which no SDK model has; KMS really answers CKSInvalidState.
  UnsupportedOperationException: { message: KMS_MESSAGES.unsupportedOperation, createKey: CKS_INVALID_STATE },
  DependencyTimeoutException: {
    message: KMS_MESSAGES.dependencyTimeout,
    mgmt: URI_UNREACHABLE,
    createKey: CKS_INVALID_STATE,
    connectCode: 'XKS_PROXY_NOT_REACHABLE',
  },
  ThrottlingException: {
    message: KMS_MESSAGES.throttled,
    mgmt: URI_UNREACHABLE,
    createKey: CKS_INVALID_STATE,
    connectCode: 'XKS_PROXY_NOT_REACHABLE',
  },
  InternalException: {
    message: KMS_MESSAGES.internal,
    mgmt: INVALID_RESPONSE,
    createKey: CKS_INVALID_STATE,
    connectCode: 'XKS_PROXY_INVALID_RESPONSE',
  },
  'inner-layer-failed': { message: KMS_MESSAGES.proxyReturnedInvalidCiphertext },
  tcp: { message: KMS_MESSAGES.noTcp, mgmt: URI_UNREACHABLE, createKey: CKS_INVALID_STATE, connectCode: 'XKS_PROXY_NOT_REACHABLE' },
  network: { message: KMS_MESSAGES.noTcp, mgmt: URI_UNREACHABLE, createKey: CKS_INVALID_STATE, connectCode: 'NETWORK_ERRORS' },
  tls: {
    message: KMS_MESSAGES.noTls,
    mgmt: URI_UNREACHABLE,
    createKey: CKS_INVALID_STATE,
    connectCode: 'XKS_PROXY_INVALID_TLS_CONFIGURATION',
  },
  timeout: { message: KMS_MESSAGES.timedOut, mgmt: URI_UNREACHABLE, createKey: CKS_INVALID_STATE, connectCode: 'XKS_PROXY_TIMED_OUT' },
  'malformed-response': {
    message: KMS_MESSAGES.cannotInterpret,
    mgmt: INVALID_RESPONSE,
    createKey: CKS_INVALID_STATE,
    connectCode: 'XKS_PROXY_INVALID_RESPONSE',
  },
  'no-ekm-available': {
    message: KMS_MESSAGES.unhealthy,
    mgmt: URI_UNREACHABLE,
    createKey: CKS_INVALID_STATE,
    connectCode: 'XKS_PROXY_NOT_REACHABLE',
  },
  'store-not-connected': { message: KMS_MESSAGES.storeNotConnected, createKey: CKS_INVALID_STATE },
};

/** The KMS exception (name, message and, for connect, the ConnectionErrorCode) for one outcome. */
export interface KmsErrorSpec {
  name: string;
  message: string;
  connectionErrorCode?: ConnectionErrorCode;
}

export function outcomeKey(outcome: ProxyOutcome): OutcomeKey {
  switch (outcome.kind) {
    case 'proxy-error':
      return outcome.errorName;
    case 'transport':
      return outcome.failure;
    default:
      return outcome.kind;
  }
}

export function mapProxyOutcome(outcome: ProxyOutcome, operationClass: OperationClass): KmsErrorSpec {
  const row = ERROR_MAPPING_TABLE[outcomeKey(outcome)];
  switch (operationClass) {
    case 'crypto':
      // Every XKS failure of a cryptographic operation is KMSInvalidStateException; only the message differs.
      return { name: KMS_INVALID_STATE, message: row.message };
    case 'create-key':
      return row.createKey === undefined
        ? { name: CKS_INVALID_STATE, message: KMS_MESSAGES.cannotInterpret }
        : { name: row.createKey, message: row.createKeyMessage ?? row.message };
    case 'mgmt-create-update':
      return row.mgmt === undefined
        ? { name: INVALID_RESPONSE, message: KMS_MESSAGES.cannotInterpret }
        : { name: row.mgmt, message: row.message };
    case 'mgmt-connect':
      // ConnectCustomKeyStore does not throw: the store goes FAILED with this code.
      return row.connectCode === undefined
        ? { name: INVALID_RESPONSE, message: KMS_MESSAGES.cannotInterpret, connectionErrorCode: 'XKS_PROXY_INVALID_RESPONSE' }
        : { name: row.mgmt ?? INVALID_RESPONSE, message: row.message, connectionErrorCode: row.connectCode };
  }
}
