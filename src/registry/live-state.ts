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
 * The in-memory state the XKS hot path reads (DESIGN.md §3: the hot path touches no database row).
 * Management services write the database first, then update this.
 */
export class LiveState {
  private readonly keystoresByPrefix = new Map<string, LiveKeystore>();
  private readonly keysByGroup = new Map<string, Map<string, LiveKey>>();

  keystoreByPrefix(prefix: string): LiveKeystore | undefined {
    return this.keystoresByPrefix.get(prefix);
  }

  keystoreByName(name: string): LiveKeystore | undefined {
    for (const live of this.keystoresByPrefix.values()) if (live.keystore.name === name) return live;
    return undefined;
  }

  keystores(): LiveKeystore[] {
    return [...this.keystoresByPrefix.values()];
  }

  putKeystore(keystore: Keystore, secrets: Map<string, string>): void {
    this.keystoresByPrefix.set(keystore.prefix, { keystore, secrets });
  }

  updateKeystore(keystore: Keystore): void {
    const live = this.keystoresByPrefix.get(keystore.prefix);
    if (live) live.keystore = keystore;
  }

  key(groupId: string, externalId: string): LiveKey | undefined {
    return this.keysByGroup.get(groupId)?.get(externalId);
  }

  putKey(live: LiveKey): void {
    let group = this.keysByGroup.get(live.record.groupId);
    if (!group) {
      group = new Map();
      this.keysByGroup.set(live.record.groupId, group);
    }
    group.set(live.record.externalId, live);
  }

  keyCount(): number {
    let count = 0;
    for (const group of this.keysByGroup.values()) count += group.size;
    return count;
  }
}
