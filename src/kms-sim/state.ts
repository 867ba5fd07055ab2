/** The simulated KMS's own records (docs/kms-client.md#simulator-state). */
import type { ConnectionErrorCode } from './error-mapping.js';
import type { XksCredential } from './signer.js';

export type ConnectionState = 'CONNECTED' | 'CONNECTING' | 'DISCONNECTED' | 'DISCONNECTING' | 'FAILED';

export interface CustomKeyStore {
  /** `cks-` followed by 17 hex digits. */
  id: string;
  name: string;
  /** `https://<host>`; the simulator also accepts `:<port>` for loopback tests, which KMS does not. */
  uriEndpoint: string;
  /** `[/<prefix>]/kms/xks/v1`. */
  uriPath: string;
  credential: XksCredential;
  credentialSetAt: number;
  connectionState: ConnectionState;
  /** Only while FAILED. */
  connectionErrorCode?: ConnectionErrorCode;
  createdAt: number;
}

/** The state KMS stores; `Unavailable` is derived from the store's connection (see effectiveKeyState). */
export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface KmsKey {
  keyId: string;
  arn: string;
  customKeyStoreId: string;
  xksKeyId: string;
  keyState: KeyState;
  /** The KMS key material for the inner layer: 32 random bytes. */
  hbk: Buffer;
  createdAt: number;
}

export interface SimulatorState {
  accountId: string;
  region: string;
  stores: Map<string, CustomKeyStore>;
  keys: Map<string, KmsKey>;
}

export function createSimulatorState(accountId: string, region: string): SimulatorState {
  return { accountId, region, stores: new Map(), keys: new Map() };
}

export function keyArn(state: SimulatorState, keyId: string): string {
  return `arn:aws:kms:${state.region}:${state.accountId}:key/${keyId}`;
}

/** A key in a store that is not CONNECTED is Unavailable, unless it is pending deletion. */
export function effectiveKeyState(state: SimulatorState, key: KmsKey): KeyState | 'Unavailable' {
  if (key.keyState === 'PendingDeletion') return key.keyState;
  return state.stores.get(key.customKeyStoreId)?.connectionState === 'CONNECTED' ? key.keyState : 'Unavailable';
}
