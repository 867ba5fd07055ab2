import type { StoredKeyVersion } from '../domain/types.js';
import type { KeyStamp, KeyStore } from './key-store.js';
import type { LiveKeys } from './live-keys.js';

/** How far behind the newest change syncLive reads again, for writers whose clocks run behind. */
const SYNC_CLOCK_MARGIN_MS = 10 * 60_000;
/** Key stamps read per query by syncLive; the event loop runs between pages (~5 ms each at this size). */
const SYNC_PAGE_SIZE = 2_000;

/** Keeps the live state's keys (what the XKS data plane reads) in step with the database. */
export interface KeyLiveSync {
  /** Loads every customer key into the live state (node start, unseal): two queries, whatever the key count. */
  readonly loadAll: () => Promise<void>;
  /**
   * Applies the key changes other nodes of a fleet made since the last pass (loadAll when nothing was
   * loaded yet). Reads only the keys changed since then (an indexed range), minus a margin for the
   * writers' clocks (SigV4 already needs every node within 5 minutes of true time): their stamps (id
   * and change time) in pages, yielding to the event loop between pages, then the full row of each key
   * that did change. Reading every full row at once held the event loop for about a second at 100,000 keys.
   */
  readonly syncLive: () => Promise<void>;
}

export function createKeyLiveSync({ keyStore, liveKeys }: { keyStore: KeyStore; liveKeys: LiveKeys }): KeyLiveSync {
  /** The newest `updatedAt` this node has read from the database (undefined: read everything). */
  let syncedUpTo: number | undefined;

  async function loadAll(): Promise<void> {
    syncedUpTo = undefined;
    const [versions, records] = await Promise.all([keyStore.listKeyVersions(), keyStore.listLiveKeys()]);
    const versionsByKey = new Map<string, StoredKeyVersion[]>();
    for (const version of versions) {
      const ofKey = versionsByKey.get(version.keyId);
      if (ofKey) ofKey.push(version);
      else versionsByKey.set(version.keyId, [version]);
    }
    let newest: number | undefined;
    for (const record of records) if (newest === undefined || record.updatedAt > newest) newest = record.updatedAt;
    await liveKeys.publishAll(records.map((record) => [record, versionsByKey.get(record.id) ?? []] as const));
    syncedUpTo = newest;
  }

  async function syncLive(): Promise<void> {
    if (syncedUpTo === undefined) return loadAll();
    const since = syncedUpTo - SYNC_CLOCK_MARGIN_MS;
    let after: KeyStamp | undefined;
    for (;;) {
      const page = await keyStore.listKeyStamps(since, SYNC_PAGE_SIZE, after);
      for (const stamp of page) {
        if (stamp.updatedAt > syncedUpTo) syncedUpTo = stamp.updatedAt;
        if (liveKeys.isCurrent(stamp)) continue;
        const record = await keyStore.getKeyById(stamp.id);
        if (record) await liveKeys.publish(record);
      }
      after = page.at(-1);
      if (page.length < SYNC_PAGE_SIZE) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  return { loadAll, syncLive };
}
