import type { KeyRecord, KeyStatus, KeyVersionState, StoredKeyVersion } from '../domain/types.js';

/**
 * Where keys, their versions and the import wrapping keys of bring-your-own-key are kept: the keys
 * feature's persistence port (implementation: sql-key-store.ts, on SQLite and PostgreSQL alike).
 * Every method is one transaction; failures throw and leave nothing half-written. A uniqueness rule
 * refusing a write throws StoreConflictError, a missing referenced record StoreNotFoundError
 * (src/storage/store-errors.ts), each with a one-line message. Nothing on the XKS hot path calls this: the
 * data plane reads the live state (src/registry/live-state.ts), which the key service keeps current.
 */
export interface KeyStore {
  /** Adds a key with its first version. Refuses an id, or an external id in the same group, that exists. */
  createKey(key: KeyRecord, firstVersion: StoredKeyVersion): Promise<void>;
  getKey(groupId: string, externalId: string): Promise<KeyRecord | undefined>;
  getKeyById(id: string): Promise<KeyRecord | undefined>;
  /** Keys in (group, external id) order, of one group when given; internal keys (the canary) only when asked. */
  listKeys(groupId?: string, options?: { includeInternal?: boolean }): Promise<KeyRecord[]>;
  /**
   * Every customer key, in no particular order and without what only management reads (the search
   * column): the node's start reads all of them into the live state, so at 100,000 keys the sort and the
   * extra column were a measurable part of the start (docs/bench: start-up at 100,000 keys).
   */
  listLiveKeys(): Promise<KeyRecord[]>;
  /**
   * One page of customer keys in (group, external id) order, filtered, starting after `search.after`
   * (keyset paging: each page costs the same however deep it is). With `count`, also how many keys match
   * the filters in all.
   */
  searchKeys(search: KeySearch): Promise<KeySearchPage>;
  /**
   * Changes a key. With `expect`, only while the key still has that status / current version
   * (compare-and-set, for nodes racing on the same row): returns false, changing nothing, when it has not.
   * Throws StoreNotFoundError when the key does not exist, or has no version `changes.currentVersion`.
   */
  updateKey(id: string, changes: KeyChanges, updatedAt: number, expect?: KeyExpectation): Promise<boolean>;
  /**
   * Adds `version` and makes it current, in one transaction, only while the key's current version is still
   * `expectedCurrent` (so two nodes rotating the same key rotate it once). Returns false when it was not.
   */
  addCurrentVersion(version: StoredKeyVersion, expectedCurrent: number, changes: KeyChanges, updatedAt: number): Promise<boolean>;
  /**
   * One key's versions in version order, or every key's (node start) when no key is named, in no particular
   * order (a table scan: ordering by the key was ~25 % of that read at 100,000 keys).
   */
  listKeyVersions(keyId?: string): Promise<StoredKeyVersion[]>;
  /** Adds a version without making it current. */
  addKeyVersion(version: StoredKeyVersion): Promise<void>;
  /** Changes one version, only while it is in one of `expectStates` when given; false when it was not. */
  updateKeyVersion(keyId: string, version: number, changes: KeyVersionChanges, expectStates?: KeyVersionState[]): Promise<boolean>;
  /**
   * Keys the node has work on at `now`: ENABLED keys due for rotation, PENDING_DELETION keys past their
   * deletion date, and DESTROYED keys with a version not yet erased (a destruction that was interrupted).
   */
  listKeysDue(now: number): Promise<KeyRecord[]>;

  /** Keeps a new import wrapping key (its private half sealed under the root of trust). */
  createWrappingKey(key: StoredWrappingKey): Promise<void>;
  getWrappingKey(id: string): Promise<StoredWrappingKey | undefined>;
  /** Marks a wrapping key used at `usedAt`, only if no import used it before; false when one had (or it does not exist). */
  markWrappingKeyUsed(id: string, usedAt: number): Promise<boolean>;
}

/** The part of the key store other features read keys through (policies attach to keys by id). */
export type KeyReader = Pick<KeyStore, 'getKey' | 'getKeyById'>;

/** Filters and page of KeyStore.searchKeys. */
export interface KeySearch {
  groupId?: string;
  status?: KeyStatus;
  /** Lower case; matches a substring of the external id, the description or a tag value (key-rows.ts searchText). */
  text?: string;
  /** The last key of the previous page. */
  after?: KeyPosition;
  limit: number;
  count?: boolean;
}

/** Where a key sits in the listing's order. */
export interface KeyPosition {
  groupId: string;
  externalId: string;
}

export interface KeySearchPage {
  keys: KeyRecord[];
  /** Whether keys follow the last one of this page. */
  more: boolean;
  /** Every key matching the filters (asked for with `count`). */
  total?: number;
}

/** Key fields a management action changes; `null` clears an optional field. */
export interface KeyChanges {
  status?: KeyStatus;
  usage?: KeyRecord['usage'];
  currentVersion?: number;
  blockReason?: string | null;
  deletionDate?: number | null;
  description?: string;
  tags?: Record<string, string>;
  rotationPeriodDays?: number | null;
  nextRotationAt?: number | null;
  minDecryptVersion?: number;
}

/** What a compare-and-set update requires of the key row. */
export interface KeyExpectation {
  status?: KeyStatus[];
  currentVersion?: number;
  /** The deletion date is at or before this (epoch ms). */
  deletionDueBy?: number;
}

export interface KeyVersionChanges {
  state?: KeyVersionState;
  sealedMaterial?: Buffer;
  revokedAt?: number;
  destroyedAt?: number;
}

/** An RSA key pair for one bring-your-own-key import (import-wrapping.ts). */
export interface StoredWrappingKey {
  id: string;
  publicKeyPem: string;
  /** The PKCS#8 DER private key, sealed under the root of trust; never stored in the clear. */
  sealedPrivateKey: Buffer;
  createdAt: number;
  expiresAt: number;
  /** When an import used it; absent while unused. */
  usedAt?: number;
}
