import type { Group, Keystore, KeystoreQuota, KeystoreStatus, StoredCredential } from '../domain/types.js';

/**
 * The keystores' data access: groups (the namespaces keystores bind to; keys, their canary included,
 * live in one), keystores with their status and quota, and their SigV4 credentials. Every method is
 * one transaction; a refused write throws StoreConflictError or StoreNotFoundError
 * (src/storage/store-errors.ts) with a one-line message. createKeystoreStore (sql-keystore-store.ts)
 * implements it on SQLite and PostgreSQL.
 */
export interface KeystoreStore {
  // groups
  /** Refuses a duplicate id or name. */
  createGroup(group: Group): Promise<void>;
  getGroupByName(name: string): Promise<Group | undefined>;
  getGroup(id: string): Promise<Group | undefined>;
  /** Every group, by name. */
  listGroups(): Promise<Group[]>;

  // keystores
  /** Creates the keystore with its first credential, both or neither; refuses a duplicate id, name, prefix or access key id. */
  createKeystore(keystore: Keystore, firstCredential: StoredCredential): Promise<void>;
  getKeystoreByName(name: string): Promise<Keystore | undefined>;
  /** Every keystore, by name. */
  listKeystores(): Promise<Keystore[]>;
  /** Sets the status; `blockReason` is kept only with BLOCKED. */
  setKeystoreStatus(id: string, status: KeystoreStatus, blockReason?: string): Promise<void>;
  /** Sets the keystore's request quota, or removes it (undefined). */
  setKeystoreQuota(id: string, quota: KeystoreQuota | undefined): Promise<void>;

  // credentials
  /** Refuses a duplicate access key id, or a keystore that does not exist. */
  addCredential(credential: StoredCredential): Promise<void>;
  /** Removes it; refuses (StoreConflictError) to remove a keystore's last credential. */
  removeCredential(keystoreId: string, accessKeyId: string): Promise<void>;
  getCredential(accessKeyId: string): Promise<StoredCredential | undefined>;
  /** One keystore's credentials, or every keystore's; oldest first. */
  listCredentials(keystoreId?: string): Promise<StoredCredential[]>;
}
