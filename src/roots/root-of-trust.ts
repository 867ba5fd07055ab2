/**
 * The port behind which key material lives (DESIGN.md §4). The software adapter wraps material
 * under a master key; an HSM adapter (PKCS#11) can implement the same port later.
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
  /** Creates new key material and returns the opaque reference to store (sealed material for software). */
  createKeyMaterial(context: string): Promise<Buffer>;
  /** Imports a raw 256-bit key (bring your own key / migration) and returns its reference to store. */
  importKeyMaterial(material: Buffer, context: string): Promise<Buffer>;
  /** Opens a stored reference for data-plane use; `context` must equal the one it was created with. */
  openKey(reference: Buffer, context: string): Promise<DataKey>;
  /** Encrypts a small secret (a SigV4 secret) for storage, bound to `context`. */
  sealSecret(secret: Buffer, context: string): Buffer;
  unsealSecret(sealed: Buffer, context: string): Buffer;
  /** A cheap liveness probe of the root itself (the deep check runs crypto on a canary key). */
  state(): EkmHealth;
}

/** Record identities used as AAD when sealing, so a sealed blob cannot be moved to another record. */
export const sealContext = {
  keyMaterial: (keyId: string, version: number) => `key-material:${keyId}:${version}`,
  credentialSecret: (accessKeyId: string) => `credential-secret:${accessKeyId}`,
};
