import type { Group, Keystore } from '../domain/types.js';

/**
 * The groups and keystores keys belong to, as the keys feature reads them (names in views, the group a
 * keystore serves) and, for the health canary's `__system` group, writes them. Groups and keystores are
 * the keystores feature's: its store (src/keystores/sql-keystore-store.ts) is this directory.
 */
export interface KeystoreDirectory {
  getKeystoreByName(name: string): Promise<Keystore | undefined>;
  listKeystores(): Promise<Keystore[]>;
  listGroups(): Promise<Group[]>;
  getGroupByName(name: string): Promise<Group | undefined>;
  createGroup(group: Group): Promise<void>;
}
