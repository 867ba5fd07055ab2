import type { KeyRecord, StoredKeyVersion } from '../domain/types.js';
import type { LiveState } from '../registry/live-state.js';
import { sealContext, type DataKey, type RootOfTrust } from '../roots/root-of-trust.js';
import type { KeyStore } from './key-store.js';
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
  /**
   * publish() for every key read at start (each with its stored versions): without an await per key
   * when versions are opened on first use, which at 100,000 keys is most of what start-up spends here.
   */
  publishAll(keys: Iterable<readonly [KeyRecord, StoredKeyVersion[]]>): Promise<void>;
  /** The data plane forgets every version of the key (it is being destroyed): KeyNotFoundException from here on. */
  withdraw(record: KeyRecord): void;
  /** The data plane forgets one version (about to be erased); the others keep serving. */
  withdrawVersion(record: KeyRecord, version: number): void;
}

export function createLiveKeys({ keyStore, root, live }: { keyStore: KeyStore; root: RootOfTrust; live: LiveState }): LiveKeys {
  const opener = (record: KeyRecord, version: StoredKeyVersion) => () =>
    root.openKey(version.sealedMaterial, sealContext.keyMaterial(record.id, version.version));

  async function openVersion(record: KeyRecord, version: StoredKeyVersion): Promise<DataKey> {
    const open = opener(record, version);
    return root.opensKeysAtStart ? open() : lazyDataKey(open);
  }

  /** The DataKeys the key already has in the live state (same key id), to reuse rather than open again. */
  function openedVersions(record: KeyRecord): Map<number, DataKey> | undefined {
    const open = live.key(record.groupId, record.externalId);
    return open?.record.id === record.id ? open.versions : undefined;
  }

  async function openVersions(record: KeyRecord, stored?: StoredKeyVersion[]): Promise<Map<number, DataKey>> {
    const versions = new Map<number, DataKey>();
    if (record.status === 'DESTROYED') return versions;
    const reuse = openedVersions(record);
    for (const version of stored ?? (await keyStore.listKeyVersions(record.id))) {
      if (version.state !== 'ENABLED') continue;
      versions.set(version.version, reuse?.get(version.version) ?? (await openVersion(record, version)));
    }
    return versions;
  }

  /** openVersions() for a root that opens keys on first use: nothing to wait for. */
  function lazyVersions(record: KeyRecord, stored: StoredKeyVersion[]): Map<number, DataKey> {
    const versions = new Map<number, DataKey>();
    if (record.status === 'DESTROYED') return versions;
    const reuse = openedVersions(record);
    for (const version of stored) {
      if (version.state !== 'ENABLED') continue;
      versions.set(version.version, reuse?.get(version.version) ?? lazyDataKey(opener(record, version)));
    }
    return versions;
  }

  return {
    openVersions,

    async publish(record, stored) {
      live.putKey({ record, versions: await openVersions(record, stored) });
      return record;
    },

    async publishAll(keys) {
      for (const [record, stored] of keys) {
        const versions = root.opensKeysAtStart ? await openVersions(record, stored) : lazyVersions(record, stored);
        live.putKey({ record, versions });
      }
    },

    withdraw(record) {
      live.putKey({ record, versions: new Map() });
    },

    withdrawVersion(record, version) {
      const open = live.key(record.groupId, record.externalId)?.versions ?? new Map<number, DataKey>();
      live.putKey({ record, versions: new Map([...open].filter(([n]) => n !== version)) });
    },
  };
}
