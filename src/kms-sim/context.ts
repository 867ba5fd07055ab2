/** What every simulated KMS operation depends on, and small helpers they share. */
import type { Clock } from '../core/clock.js';
import { mapProxyOutcome, type OperationClass, type ProxyOutcome } from './error-mapping.js';
import { KmsError } from './kms-error.js';
import type { ProxyTarget } from './proxy-client.js';
import type { CallerIdentity } from './request-metadata.js';
import type { CustomKeyStore, SimulatorState } from './state.js';
import type { XksCaller } from './xks-calls.js';

export interface SimulatorContext {
  state: SimulatorState;
  xks: XksCaller;
  clock: Clock;
  randomBytes: (size: number) => Buffer;
  caller: CallerIdentity;
  /** Ask for a CDIV on Encrypt-like calls unless a call says otherwise. */
  cdivByDefault: boolean;
  /** Send `additionalAuthenticatedData` to the proxy (the optional field can be left out to test that mode). */
  sendAad: boolean;
}

export function proxyTarget(
  state: SimulatorState,
  store: Pick<CustomKeyStore, 'id' | 'uriEndpoint' | 'uriPath' | 'credential'>,
): ProxyTarget {
  return {
    uriEndpoint: store.uriEndpoint,
    uriPath: store.uriPath,
    credential: store.credential,
    region: state.region,
    customKeyStoreId: store.id,
  };
}

export function findStore(state: SimulatorState, customKeyStoreId: string): CustomKeyStore {
  const store = state.stores.get(customKeyStoreId);
  if (!store) {
    throw new KmsError('CustomKeyStoreNotFoundException', `Custom key store '${customKeyStoreId}' does not exist.`);
  }
  return store;
}

/** The KMS exception for a failed proxy call, keeping the proxy's errorName and failed checks for diagnosis. */
export function kmsErrorFor(failure: { outcome: ProxyOutcome; failedChecks?: string[] }, operationClass: OperationClass): KmsError {
  const spec = mapProxyOutcome(failure.outcome, operationClass);
  return new KmsError(spec.name, spec.message, {
    ...(spec.connectionErrorCode ? { connectionErrorCode: spec.connectionErrorCode } : {}),
    ...(failure.outcome.kind === 'proxy-error' ? { proxyErrorName: failure.outcome.errorName } : {}),
    ...(failure.failedChecks?.length ? { failedChecks: failure.failedChecks } : {}),
  });
}
