import type { Kysely } from 'kysely';
import type { DatabaseConnection } from './connection.js';
import type { Database } from './rows.js';
import type { KeyRecord, KeyStatus, KeyVersionState, StoredKeyVersion } from '../domain/types.js';

/**
 * What is left of the shared persistence port while features move their queries into stores of their
 * own (groups, keystores and credentials: src/keystores/; the fleet table: src/fleet/; the audit tables:
 * src/audit/). One implementation (Kysely) serves SQLite and PostgreSQL.
 * Every method is a single transaction; failures throw and leave nothing half-written.
 * Nothing on the XKS hot path calls this: the data plane reads from in-memory caches.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** The open database; feature stores are built on it (connection.ts). */
  readonly connection: DatabaseConnection;
  /**
   * The query builder, for feature modules that keep their own tables (policies, users):
   * each declares its rows and uses `db.withTables<TheirTables>()`, and adds its migration to
   * migrations/index.ts.
   */
  readonly db: Kysely<Database>;

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

// The store's errors live with the write guard that raises them; re-exported for the features whose
// queries are still here.
export { StoreConflictError, StoreNotFoundError } from './store-errors.js';
