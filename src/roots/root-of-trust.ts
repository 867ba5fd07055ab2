/**
 * The port behind which key material lives (docs/architecture.md#roots-of-trust). The software adapter wraps material
 * under a master key; a PKCS#11 adapter keeps keys (or only the wrapping key) inside an HSM.
 * Every call may reach a device, so every call is asynchronous.
 */
export type EkmHealth = 'ACTIVE' | 'DEGRADED' | 'UNAVAILABLE';

/** Data-plane crypto with one version of one key. */
export interface DataKey {
  encrypt(iv: Buffer, plaintext: Buffer, aad: Buffer): Promise<{ ciphertext: Buffer; tag: Buffer }>;
  /** Rejects with AuthenticationTagMismatchError when the tag does not authenticate. */
  decrypt(iv: Buffer, ciphertext: Buffer, aad: Buffer, tag: Buffer): Promise<Buffer>;
}

export interface RootOfTrust {
  /** e.g. 'software' — reported in health as the EKM model. */
  readonly kind: string;
  readonly model: string;
  /**
   * True when an opened key keeps working while the device behind the root is unreachable (PKCS#11 wrap
   * mode unwraps into memory): the node then opens every key at start, so an outage leaves them all
   * serving. Otherwise keys are opened on first use, and a node with many keys starts quickly.
   */
  readonly opensKeysAtStart?: boolean;
  /**
   * Creates new key material and returns the opaque reference to store: sealed material for the
   * software root, a handle (never material) for keys that live inside an HSM.
   */
  createKeyMaterial(context: string): Promise<Buffer>;
  /** Imports a raw 256-bit key (bring your own key / migration) and returns its reference to store. */
  importKeyMaterial(material: Buffer, context: string): Promise<Buffer>;
  /** Opens a stored reference for data-plane use; `context` must equal the one it was created with. */
  openKey(reference: Buffer, context: string): Promise<DataKey>;
  /** Erases the material behind a reference (HSM: destroys the object); the caller deletes the stored row. */
  destroyKeyMaterial(reference: Buffer, context: string): Promise<void>;
  /** Encrypts a small secret (a SigV4 secret, a signing key) for storage, bound to `context`. */
  sealSecret(secret: Buffer, context: string): Promise<Buffer>;
  unsealSecret(sealed: Buffer, context: string): Promise<Buffer>;
  /** A cheap liveness probe of the root itself (the deep check runs crypto on a canary key). */
  state(): EkmHealth;
  /** Releases sessions, workers and handles. */
  close(): Promise<void>;
}

/** The part of a root of trust that seals small secrets (SigV4 credential secrets) for storage. */
export type SecretSealer = Pick<RootOfTrust, 'sealSecret' | 'unsealSecret'>;

/** Every crypto call on a root that is sealed (Shamir: waiting for its custodians' shares) rejects with this. */
export class RootSealedError extends Error {
  constructor(message = 'the node is sealed: its key custodians must enter their shares (keyhold unseal) before keys can be used') {
    super(message);
    this.name = 'RootSealedError';
  }
}

/** Record identities used as AAD when sealing, so a sealed blob cannot be moved to another record. */
export const sealContext = {
  keyMaterial: (keyId: string, version: number) => `key-material:${keyId}:${version}`,
  credentialSecret: (accessKeyId: string) => `credential-secret:${accessKeyId}`,
};

/** A device-backed root lost its device (`lost`), failed to reconnect, or got it back (`recovered`). Details hold no secrets. */
export type RootEventListener = (event: 'lost' | 'recovered' | 'reconnect_failed', detail: string) => void;

/**
 * The root did not answer within its deadline (a slow or hung device, a full queue). The data plane
 * answers DependencyTimeoutException (503), so the caller may retry.
 */
export class RootTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RootTimeoutError';
  }
}

/** The root cannot serve right now (session or token lost, login failed); the data plane answers InternalException. */
export class RootUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RootUnavailableError';
  }
}
