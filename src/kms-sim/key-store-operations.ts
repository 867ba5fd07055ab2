/**
 * Create / Connect / Update / Disconnect custom key stores (docs/kms-client.md#key-stores, #simulator-calls).
 * Connect runs synchronously here: the real one returns at once and settles in ~5 minutes.
 */
import { findStore, kmsErrorFor, proxyTarget, type SimulatorContext } from './context.js';
import type { ConnectionErrorCode } from './error-mapping.js';
import { KmsError } from './kms-error.js';
import { checkCredential, checkStoreName, checkUriEndpoint, checkUriPath } from './kms-params.js';
import type { ProxyTarget } from './proxy-client.js';
import { healthRequestMetadata, type RequestMetadata } from './request-metadata.js';
import type { XksCredential } from './signer.js';
import type { ConnectionState, CustomKeyStore } from './state.js';
import { hasServingEkm, type HealthStatus } from './validators.js';
import type { CallResult } from './xks-calls.js';

export interface CreateCustomKeyStoreInput {
  name: string;
  uriEndpoint: string;
  uriPath: string;
  credential: XksCredential;
  requestMetadata?: RequestMetadata;
}

export interface UpdateCustomKeyStoreInput {
  customKeyStoreId: string;
  newName?: string;
  uriEndpoint?: string;
  uriPath?: string;
  credential?: XksCredential;
  requestMetadata?: RequestMetadata;
}

/** What DescribeCustomKeyStores shows: never the secret. */
export interface CustomKeyStoreDescription {
  id: string;
  name: string;
  uriEndpoint: string;
  uriPath: string;
  accessKeyId: string;
  connectionState: ConnectionState;
  connectionErrorCode?: ConnectionErrorCode;
  credentialSetAt: number;
  createdAt: number;
}

export interface ConnectResult {
  connectionState: ConnectionState;
  connectionErrorCode?: ConnectionErrorCode;
}

/** The custom key store calls of the simulated KMS. */
export interface KeyStoreOperations {
  /** CreateCustomKeyStore: KMS's parameter checks, then GetHealthStatus (kmsOperation CreateCustomKeyStore); DISCONNECTED. */
  createCustomKeyStore(input: CreateCustomKeyStoreInput): Promise<CustomKeyStoreDescription>;
  /**
   * ConnectCustomKeyStore, settled at once: DISCONNECTED → CONNECTED, or FAILED with a connection error code.
   * A CONNECTED store stays so; FAILED and DISCONNECTING ones must be disconnected first.
   */
  connectCustomKeyStore(customKeyStoreId: string, requestMetadata?: RequestMetadata): Promise<ConnectResult>;
  /** UpdateCustomKeyStore: health is checked with the new proxy values; on any failure nothing changes. */
  updateCustomKeyStore(input: UpdateCustomKeyStoreInput): Promise<CustomKeyStoreDescription>;
  /** DisconnectCustomKeyStore: no proxy traffic; the store's keys become Unavailable. */
  disconnectCustomKeyStore(customKeyStoreId: string): CustomKeyStoreDescription;
  /** DescribeCustomKeyStores for one store: never the secret. */
  describeCustomKeyStore(customKeyStoreId: string): CustomKeyStoreDescription;
  /** KMS's periodic poll (kmsOperation KmsHealthCheck): feeds metrics, never changes the connection state. */
  runHealthCheck(customKeyStoreId: string): Promise<CallResult<HealthStatus>>;
}

export function describeStore(store: CustomKeyStore): CustomKeyStoreDescription {
  const { credential, ...rest } = store;
  return { ...rest, accessKeyId: credential.accessKeyId };
}

export function createKeyStoreOperations(ctx: SimulatorContext): KeyStoreOperations {
  const { state } = ctx;

  /** GetHealthStatus, treating a fleet with every EKM UNAVAILABLE as a failure. */
  async function checkHealth(target: ProxyTarget, kmsOperation: string, overrides?: RequestMetadata): Promise<CallResult<HealthStatus>> {
    const result = await ctx.xks.getHealthStatus(target, healthRequestMetadata(kmsOperation, overrides));
    if (result.ok && !hasServingEkm(result.value)) return { ok: false, outcome: { kind: 'no-ekm-available' }, failedChecks: [] };
    return result;
  }

  function requireUniqueName(name: string, exceptId?: string): void {
    for (const store of state.stores.values()) {
      if (store.name === name && store.id !== exceptId) {
        throw new KmsError('CustomKeyStoreNameInUseException', `The custom key store name '${name}' is already in use.`);
      }
    }
  }

  function requireUniqueUri(uriEndpoint: string, uriPath: string, exceptId?: string): void {
    for (const store of state.stores.values()) {
      if (store.uriEndpoint === uriEndpoint && store.uriPath === uriPath && store.id !== exceptId) {
        throw new KmsError(
          'XksProxyUriInUseException',
          'The XksProxyUriEndpoint and XksProxyUriPath are already associated with an external key store in this account and Region.',
        );
      }
    }
  }

  function newStoreId(): string {
    return `cks-${ctx.randomBytes(9).toString('hex').slice(0, 17)}`;
  }

  async function createCustomKeyStore(input: CreateCustomKeyStoreInput): Promise<CustomKeyStoreDescription> {
    checkStoreName(input.name);
    checkUriEndpoint(input.uriEndpoint);
    checkUriPath(input.uriPath);
    checkCredential(input.credential);
    requireUniqueName(input.name);
    requireUniqueUri(input.uriEndpoint, input.uriPath);
    const now = ctx.clock.now();
    const store: CustomKeyStore = {
      id: newStoreId(),
      name: input.name,
      uriEndpoint: input.uriEndpoint,
      uriPath: input.uriPath,
      credential: { ...input.credential },
      credentialSetAt: now,
      connectionState: 'DISCONNECTED',
      createdAt: now,
    };
    const health = await checkHealth(proxyTarget(state, store), 'CreateCustomKeyStore', input.requestMetadata);
    if (!health.ok) throw kmsErrorFor(health, 'mgmt-create-update');
    state.stores.set(store.id, store);
    return describeStore(store);
  }

  /**
   * DISCONNECTED → CONNECTING → CONNECTED | FAILED(+code). Connecting a CONNECTED store is a no-op;
   * FAILED and DISCONNECTING stores must be disconnected first (CustomKeyStoreInvalidStateException).
   */
  async function connectCustomKeyStore(customKeyStoreId: string, requestMetadata?: RequestMetadata): Promise<ConnectResult> {
    const store = findStore(state, customKeyStoreId);
    if (store.connectionState === 'CONNECTED') return { connectionState: 'CONNECTED' };
    if (store.connectionState !== 'DISCONNECTED') {
      throw new KmsError(
        'CustomKeyStoreInvalidStateException',
        `Custom key store '${store.id}' is ${store.connectionState}. Disconnect it before connecting it again.`,
      );
    }
    store.connectionState = 'CONNECTING';
    const health = await checkHealth(proxyTarget(state, store), 'ConnectCustomKeyStore', requestMetadata);
    if (health.ok) {
      store.connectionState = 'CONNECTED';
      delete store.connectionErrorCode;
    } else {
      store.connectionState = 'FAILED';
      store.connectionErrorCode = kmsErrorFor(health, 'mgmt-connect').connectionErrorCode;
    }
    return {
      connectionState: store.connectionState,
      ...(store.connectionErrorCode ? { connectionErrorCode: store.connectionErrorCode } : {}),
    };
  }

  /** Health is checked with the NEW values; on failure nothing changes. */
  async function updateCustomKeyStore(input: UpdateCustomKeyStoreInput): Promise<CustomKeyStoreDescription> {
    const store = findStore(state, input.customKeyStoreId);
    if (input.newName !== undefined) {
      checkStoreName(input.newName);
      requireUniqueName(input.newName, store.id);
    }
    if (input.uriEndpoint !== undefined) {
      checkUriEndpoint(input.uriEndpoint);
      if (store.connectionState !== 'DISCONNECTED' && input.uriEndpoint !== store.uriEndpoint) {
        throw new KmsError(
          'CustomKeyStoreInvalidStateException',
          'XksProxyUriEndpoint can only change while the custom key store is DISCONNECTED.',
        );
      }
    }
    if (input.uriPath !== undefined) checkUriPath(input.uriPath);
    if (input.credential !== undefined) checkCredential(input.credential);
    const updated: CustomKeyStore = {
      ...store,
      ...(input.newName !== undefined ? { name: input.newName } : {}),
      ...(input.uriEndpoint !== undefined ? { uriEndpoint: input.uriEndpoint } : {}),
      ...(input.uriPath !== undefined ? { uriPath: input.uriPath } : {}),
      ...(input.credential !== undefined ? { credential: { ...input.credential }, credentialSetAt: ctx.clock.now() } : {}),
    };
    requireUniqueUri(updated.uriEndpoint, updated.uriPath, store.id);
    const touchesProxy = input.uriEndpoint !== undefined || input.uriPath !== undefined || input.credential !== undefined;
    if (touchesProxy) {
      const health = await checkHealth(proxyTarget(state, updated), 'UpdateCustomKeyStore', input.requestMetadata);
      if (!health.ok) throw kmsErrorFor(health, 'mgmt-create-update');
    }
    Object.assign(store, updated);
    return describeStore(store);
  }

  /** No proxy traffic; the store's keys become Unavailable. */
  function disconnectCustomKeyStore(customKeyStoreId: string): CustomKeyStoreDescription {
    const store = findStore(state, customKeyStoreId);
    store.connectionState = 'DISCONNECTED';
    delete store.connectionErrorCode;
    return describeStore(store);
  }

  function describeCustomKeyStore(customKeyStoreId: string): CustomKeyStoreDescription {
    return describeStore(findStore(state, customKeyStoreId));
  }

  /** KMS's periodic poll (kmsOperation KmsHealthCheck): feeds metrics, never changes the connection state. */
  async function runHealthCheck(customKeyStoreId: string): Promise<CallResult<HealthStatus>> {
    const store = findStore(state, customKeyStoreId);
    return ctx.xks.getHealthStatus(proxyTarget(state, store), healthRequestMetadata('KmsHealthCheck'));
  }

  return {
    createCustomKeyStore,
    connectCustomKeyStore,
    updateCustomKeyStore,
    disconnectCustomKeyStore,
    describeCustomKeyStore,
    runHealthCheck,
  };
}
