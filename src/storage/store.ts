import type { Kysely } from 'kysely';
import type { DatabaseConnection } from './connection.js';
import type { Database } from './rows.js';
import type {
  Group,
  KeyRecord,
  Keystore,
  KeystoreQuota,
  KeystoreStatus,
  KeyStatus,
  KeyVersionState,
  NodeRecord,
  StoredCredential,
  StoredKeyVersion,
} from '../domain/types.js';

/**
 * The persistence port. One implementation (Kysely) serves SQLite and PostgreSQL.
 * Every method is a single transaction; failures throw and leave nothing half-written.
 * Nothing on the XKS hot path calls this: the data plane reads from in-memory caches.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** The open database; feature stores are built on it (connection.ts). */
  readonly connection: DatabaseConnection;
  /**
   * The query builder, for feature modules that keep their own tables (audit, policies, users):
   * each declares its rows and uses `db.withTables<TheirTables>()`, and adds its migration to
   * migrations/index.ts.
   */
  readonly db: Kysely<Database>;

  // groups
  createGroup(group: Group): Promise<void>;
  getGroupByName(name: string): Promise<Group | undefined>;
  getGroup(id: string): Promise<Group | undefined>;
  listGroups(): Promise<Group[]>;

  // keystores
  createKeystore(keystore: Keystore, firstCredential: StoredCredential): Promise<void>;
  getKeystoreByName(name: string): Promise<Keystore | undefined>;
  listKeystores(): Promise<Keystore[]>;
  /** Sets the status; `blockReason` is kept only with BLOCKED. */
  setKeystoreStatus(id: string, status: KeystoreStatus, blockReason?: string): Promise<void>;
  /** Sets the keystore's request quota, or removes it (undefined). */
  setKeystoreQuota(id: string, quota: KeystoreQuota | undefined): Promise<void>;

  // credentials
  addCredential(credential: StoredCredential): Promise<void>;
  /** Removes it; refuses (throws StoreConflictError) to remove a keystore's last credential. */
  removeCredential(keystoreId: string, accessKeyId: string): Promise<void>;
  getCredential(accessKeyId: string): Promise<StoredCredential | undefined>;
  listCredentials(keystoreId?: string): Promise<StoredCredential[]>;

  // keys
  createKey(key: KeyRecord, firstVersion: StoredKeyVersion): Promise<void>;
  getKey(groupId: string, externalId: string): Promise<KeyRecord | undefined>;
  getKeyById(id: string): Promise<KeyRecord | undefined>;
  listKeys(groupId?: string, options?: { includeInternal?: boolean }): Promise<KeyRecord[]>;
  /**
   * Identity and change time of customer keys changed at or after `since` (ms), in (updatedAt, id)
   * order, at most `limit`, starting after the stamp `after` (keyset paging): cheap to read in bulk.
   */
  listKeyStamps(since: number, limit: number, after?: KeyStamp): Promise<KeyStamp[]>;
  /**
   * Changes a key. With `expect`, only while the key still has that status / current version
   * (compare-and-set, for nodes racing on the same row): returns false, changing nothing, when it has not.
   * Throws StoreNotFoundError when the key does not exist.
   */
  updateKey(id: string, changes: KeyChanges, updatedAt: number, expect?: KeyExpectation): Promise<boolean>;
  /**
   * Adds `version` and makes it current, in one transaction, only while the key's current version is still
   * `expectedCurrent` (so two nodes rotating the same key rotate it once). Returns false when it was not.
   */
  addCurrentVersion(version: StoredKeyVersion, expectedCurrent: number, changes: KeyChanges, updatedAt: number): Promise<boolean>;
  /** One key's versions, or every key's (node start) when no key is named; each key's in version order. */
  listKeyVersions(keyId?: string): Promise<StoredKeyVersion[]>;
  addKeyVersion(version: StoredKeyVersion): Promise<void>;
  /** Changes one version, only while it is in one of `expectStates` when given; false when it was not. */
  updateKeyVersion(keyId: string, version: number, changes: KeyVersionChanges, expectStates?: KeyVersionState[]): Promise<boolean>;
  /**
   * Keys the node has work on at `now`: ENABLED keys due for rotation, PENDING_DELETION keys past their
   * deletion date, and DESTROYED keys with a version not yet erased (a destruction that was interrupted).
   */
  listKeysDue(now: number): Promise<KeyRecord[]>;

  // fleet
  heartbeat(node: NodeRecord): Promise<void>;
  listNodesSeenSince(since: number): Promise<NodeRecord[]>;

  close(): Promise<void>;
}

/** Key fields a management action changes; `null` clears an optional field. */
/** What a node needs to tell whether its in-memory copy of a key is current. */
export interface KeyStamp {
  id: string;
  groupId: string;
  externalId: string;
  updatedAt: number;
}

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

/** A uniqueness or integrity rule refused the change (duplicate name, prefix, key id, last credential…). */
export class StoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}

/** The referenced record does not exist. */
export class StoreNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreNotFoundError';
  }
}
