import type { Group, KeyRecord, Keystore } from '../domain/types.js';

/**
 * What the policy service reads of groups, keystores and keys, which other features own (keystores,
 * keys). Policies attach to them by internal id and show them by name.
 */
export interface PolicyDirectory {
  /** Groups and keystores (the keystores feature's store). */
  keystores: {
    getGroupByName(name: string): Promise<Group | undefined>;
    listGroups(): Promise<Group[]>;
    getKeystoreByName(name: string): Promise<Keystore | undefined>;
    listKeystores(): Promise<Keystore[]>;
  };
  /** Keys (the keys feature's store). */
  keys: {
    getKey(groupId: string, externalId: string): Promise<KeyRecord | undefined>;
    getKeyById(id: string): Promise<KeyRecord | undefined>;
  };
}
