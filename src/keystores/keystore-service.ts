import type { Keystore, KeystoreQuota } from '../domain/types.js';

/** A SigV4 credential as its creator sees it, once. */
export interface NewCredential {
  accessKeyId: string;
  /** Shown once, to whoever created it. */
  secret: string;
}

/** A keystore as the admin API and the CLI show it (never a secret). */
export interface KeystoreView {
  name: string;
  prefix: string;
  uriPath: string;
  region: string;
  group: string;
  status: Keystore['status'];
  blockReason?: string;
  /** Its request quota on each node; absent when it has none. */
  quota?: KeystoreQuota;
  createdAt: string;
  credentials: { accessKeyId: string; createdAt: string }[];
}

/** The KMS console configuration file (docs/requirements.md#authorization-logging-operations). */
export interface KmsConsoleJson {
  XksProxyUriPath: string;
  XksProxyAuthenticationCredential: { AccessKeyId: string; RawSecretAccessKey: string };
}

export interface NewKeystore {
  name: string;
  /** Normalized: `/a/b`, `/a/b/` and `/a/b/kms/xks/v1` all mean `/a/b`. */
  prefix: string;
  /** Default us-east-1. */
  region?: string;
  /** The group of keys it serves (created when missing); default: the keystore's name. */
  group?: string;
  /** Both, or neither to generate a credential. */
  accessKeyId?: string;
  secret?: string;
}

/** When a SigV4 credential was created, without its secret (metrics: credential age). */
export interface CredentialTime {
  keystore: string;
  accessKeyId: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

/**
 * Keystores (one XKS endpoint each: a URI path prefix bound to a group of keys) and their SigV4
 * credentials. Every change is written to the database first, then to this node's live state, so the
 * XKS data plane sees it from its next request; other nodes pick it up with their next refreshLiveState.
 * Failures are ManagementErrors (invalid, not-found, conflict) with a one-line message.
 * createKeystoreService (service.ts) implements it.
 */
export interface KeystoreService {
  /** Creates a keystore with its first credential (given or generated) and, when missing, its group. */
  create(input: NewKeystore): Promise<{ keystore: KeystoreView; credential: NewCredential }>;
  list(): Promise<KeystoreView[]>;
  show(name: string): Promise<KeystoreView>;
  /** Adds a credential (given or generated); a keystore takes several at once, for rotation without downtime. */
  addCredential(name: string, input: { accessKeyId?: string; secret?: string }): Promise<NewCredential>;
  /** Removes a credential; never the keystore's last. */
  removeCredential(name: string, accessKeyId: string): Promise<void>;
  /** Enables or disables every XKS operation of a keystore, effective on the next request. */
  setStatus(name: string, status: 'ENABLED' | 'DISABLED'): Promise<KeystoreView>;
  /** The keystore's kill switch: every XKS operation through it answers InvalidStateException, from the next request. */
  block(input: { name: string; reason: string }): Promise<KeystoreView>;
  /** Lifts the keystore's kill switch; the keystore is ENABLED again. */
  unblock(input: { name: string }): Promise<KeystoreView>;
  /**
   * Sets the keystore's request quota (`rps` a second, `burst` at once; burst defaults to one second's
   * worth), or removes it with `undefined`. Enforced on each node separately (src/throttle/admission.ts).
   */
  setQuota(name: string, input: { rps: unknown; burst?: unknown } | undefined): Promise<KeystoreView>;
  /** Reveals a secret: only for the KMS console file an operator downloads (the newest credential unless one is named). */
  kmsConsoleJson(name: string, accessKeyId?: string): Promise<KmsConsoleJson>;
  /** When each keystore's SigV4 credentials were created, without their secrets. */
  credentialTimes(): Promise<CredentialTime[]>;
  /**
   * Brings this node's live state up to date with the database: every keystore, its status, quota and
   * credentials (new, changed and removed ones). Secrets already open are not unsealed again.
   */
  loadAll(): Promise<void>;
}
