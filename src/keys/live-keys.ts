import type { KeyRecord, StoredKeyVersion } from '../domain/types.js';
import type { LiveState } from '../registry/live-state.js';
import { sealContext, type DataKey, type RootOfTrust } from '../roots/root-of-trust.js';
import type { KeyStamp, KeyStore } from './key-store.js';
import { lazyDataKey } from './lazy-data-key.js';

/**
 * The keys feature's one way into the live state the XKS data plane reads: the database is written
 * first, then the key is published here (effective on the next request).
 */
export interface LiveKeys {
  /**
   * The versions Decrypt may use (ENABLED ones), opened on first use unless the root asks for every key
   * at start (src/roots/root-of-trust.ts `opensKeysAtStart`); keys already in memory are reused.
   * `stored` saves the query when the caller has read the versions already.
   */
  openVersions(record: KeyRecord, stored?: StoredKeyVersion[]): Promise<Map<number, DataKey>>;
  /** Shows the data plane the key as `record` says, its versions read from the database. Returns `record`. */
  publish(record: KeyRecord, stored?: StoredKeyVersion[]): Promise<KeyRecord>;
  /** The data plane forgets every version of the key (it is being destroyed): KeyNotFoundException from here on. */
  withdraw(record: KeyRecord): void;
  /** The data plane forgets one version (about to be erased); the others keep serving. */
  withdrawVersion(record: KeyRecord, version: number): void;
  /** Whether the data plane already has the key as of this change. */
  isCurrent(stamp: KeyStamp): boolean;
}

export function createLiveKeys({ keyStore, root, live }: { keyStore: KeyStore; root: RootOfTrust; live: LiveState }): LiveKeys {
  async function openVersion(record: KeyRecord, version: StoredKeyVersion): Promise<DataKey> {
    const open = () => root.openKey(version.sealedMaterial, sealContext.keyMaterial(record.id, version.version));
    return root.opensKeysAtStart ? open() : lazyDataKey(open);
  }

  async function openVersions(record: KeyRecord, stored?: StoredKeyVersion[]): Promise<Map<number, DataKey>> {
    const versions = new Map<number, DataKey>();
    if (record.status === 'DESTROYED') return versions;
    const open = live.key(record.groupId, record.externalId);
    const reuse = open?.record.id === record.id ? open.versions : undefined;
    for (const version of stored ?? (await keyStore.listKeyVersions(record.id))) {
      if (version.state !== 'ENABLED') continue;
      versions.set(version.version, reuse?.get(version.version) ?? (await openVersion(record, version)));
    }
    return versions;
  }

  return {
    openVersions,

    async publish(record, stored) {
      live.putKey({ record, versions: await openVersions(record, stored) });
      return record;
    },

    withdraw(record) {
      live.putKey({ record, versions: new Map() });
    },

    withdrawVersion(record, version) {
      const open = live.key(record.groupId, record.externalId)?.versions ?? new Map<number, DataKey>();
      live.putKey({ record, versions: new Map([...open].filter(([n]) => n !== version)) });
    },

    isCurrent(stamp) {
      const current = live.key(stamp.groupId, stamp.externalId);
      return current !== undefined && current.record.id === stamp.id && current.record.updatedAt === stamp.updatedAt;
    },
  };
}
