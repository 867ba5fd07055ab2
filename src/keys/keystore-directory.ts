import type { Group, Keystore } from '../domain/types.js';

/**
 * The groups and keystores keys belong to, as the keys feature reads them (names in views, the group a
 * keystore serves) and, for the health canary's `__system` group, writes them. Groups and keystores are
 * the keystores feature's; until it has a store of its own, the Store's group and keystore methods
 * (src/storage/store.ts) are this directory.
 */
export interface KeystoreDirectory {
  getKeystoreByName(name: string): Promise<Keystore | undefined>;
  listKeystores(): Promise<Keystore[]>;
  listGroups(): Promise<Group[]>;
  getGroupByName(name: string): Promise<Group | undefined>;
  createGroup(group: Group): Promise<void>;
}
