import type { Kysely } from 'kysely';
import type { DatabaseConnection } from './connection.js';
import type { Database } from './rows.js';
import type { AdminToken, Group, Keystore, KeystoreQuota, KeystoreStatus, NodeRecord, StoredCredential } from '../domain/types.js';

/**
 * The persistence port of what has no feature store yet (keys have theirs: src/keys/key-store.ts).
 * One implementation (Kysely) serves SQLite and PostgreSQL.
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

  // admin tokens
  createAdminToken(token: AdminToken): Promise<void>;
  listAdminTokens(): Promise<AdminToken[]>;

  // fleet
  heartbeat(node: NodeRecord): Promise<void>;
  listNodesSeenSince(since: number): Promise<NodeRecord[]>;

  close(): Promise<void>;
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
