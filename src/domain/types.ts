/** Domain records shared by storage, the admin API and the XKS data plane (DESIGN.md §2). */

export type KeyUsage = 'ENCRYPT' | 'DECRYPT';
export type KeyStatus = 'ENABLED' | 'DISABLED';
export type KeystoreStatus = 'ENABLED' | 'DISABLED';

/** A namespace of keys; keystores bind to one group. */
export interface Group {
  id: string;
  name: string;
  createdAt: number;
}

/** One XKS endpoint: a URI path prefix bound to one group. */
export interface Keystore {
  id: string;
  name: string;
  /** The part of the URI path before `/kms/xks/v1`, e.g. `/demo`; '' for none. */
  prefix: string;
  /** The AWS region KMS signs with (the SigV4 scope region). */
  region: string;
  groupId: string;
  status: KeystoreStatus;
  createdAt: number;
}

/** A SigV4 credential as stored: the secret is sealed under the root of trust. */
export interface StoredCredential {
  accessKeyId: string;
  keystoreId: string;
  sealedSecret: Buffer;
  createdAt: number;
}

/** A root key, addressed by its external key id inside its group. */
export interface KeyRecord {
  id: string;
  groupId: string;
  externalId: string;
  usage: KeyUsage[];
  status: KeyStatus;
  /** Internal keys (the health canary) are never reachable through XKS. */
  internal: boolean;
  currentVersion: number;
  createdAt: number;
  updatedAt: number;
}

/** One generation of key material, sealed under the root of trust. */
export interface StoredKeyVersion {
  keyId: string;
  version: number;
  sealedMaterial: Buffer;
  createdAt: number;
}

export interface AdminToken {
  id: string;
  name: string;
  /** SHA-256 of the token; the token itself is shown once and never stored. */
  tokenHash: Buffer;
  createdAt: number;
}

export interface NodeRecord {
  id: string;
  hostname: string;
  startedAt: number;
  lastSeenAt: number;
}
