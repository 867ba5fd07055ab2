import type { KeyRecord, Keystore } from '../domain/types.js';
import type { DataKey } from '../roots/root-of-trust.js';

/** A keystore as the data plane sees it: its record and its live SigV4 secrets by access key id. */
export interface LiveKeystore {
  keystore: Keystore;
  secrets: Map<string, string>;
}

/** A key as the data plane sees it: its record and an opened DataKey per version. */
export interface LiveKey {
  record: KeyRecord;
  versions: Map<number, DataKey>;
}

/**
 * The in-memory state the XKS hot path reads (docs/architecture.md#live-state: the hot path touches no database row).
 * Management services write the database first, then update this; the data plane only reads it.
 * Lookups are single map reads.
 */
export interface LiveState {
  /** The keystore serving a URI prefix (e.g. `/demo`), the first thing an XKS request resolves. */
  keystoreByPrefix(prefix: string): LiveKeystore | undefined;
  keystoreByName(name: string): LiveKeystore | undefined;
  keystores(): LiveKeystore[];
  /** Adds or replaces a keystore with its secrets. */
  putKeystore(keystore: Keystore, secrets: Map<string, string>): void;
  /** Replaces a loaded keystore's record (status, quota), keeping its secrets; ignored when not loaded. */
  updateKeystore(keystore: Keystore): void;

  /** A key by its group and external id (a keystore serves its group's keys). */
  key(groupId: string, externalId: string): LiveKey | undefined;
  /** Adds or replaces a key with its opened versions. */
  putKey(live: LiveKey): void;
  keyCount(): number;
}

export function createLiveState(): LiveState {
  const keystoresByPrefix = new Map<string, LiveKeystore>();
  const keysByGroup = new Map<string, Map<string, LiveKey>>();

  return {
    keystoreByPrefix: (prefix) => keystoresByPrefix.get(prefix),

    keystoreByName(name) {
      for (const live of keystoresByPrefix.values()) if (live.keystore.name === name) return live;
      return undefined;
    },

    keystores: () => [...keystoresByPrefix.values()],

    putKeystore(keystore, secrets) {
      keystoresByPrefix.set(keystore.prefix, { keystore, secrets });
    },

    updateKeystore(keystore) {
      const live = keystoresByPrefix.get(keystore.prefix);
      if (live) live.keystore = keystore;
    },

    key: (groupId, externalId) => keysByGroup.get(groupId)?.get(externalId),

    putKey(live) {
      let group = keysByGroup.get(live.record.groupId);
      if (!group) {
        group = new Map();
        keysByGroup.set(live.record.groupId, group);
      }
      group.set(live.record.externalId, live);
    },

    keyCount() {
      let count = 0;
      for (const group of keysByGroup.values()) count += group.size;
      return count;
    },
  };
}
