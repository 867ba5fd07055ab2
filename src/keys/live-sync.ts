import type { Clock } from '../core/clock.js';
import type { StoredKeyVersion } from '../domain/types.js';
import type { KeyStore } from './key-store.js';
import type { LiveKeys } from './live-keys.js';

/** Changes read per query by syncLive. */
const SYNC_PAGE_SIZE = 1_000;
/**
 * A node that has not read the change sequence for this long reloads every key instead (the sequence
 * keeps 24 hours of changes, src/fleet/change-follower.ts, so older ones may have been pruned).
 */
const STALE_CURSOR_MS = 12 * 3_600_000;

/**
 * The fleet's change sequence as the key sync reads it (migration 0008_changes: every write to `keys`
 * or `key_versions` adds a `key` change naming the key id, in commit order). src/fleet/change-store.ts's
 * ChangeStore has this shape; the composition root passes it in.
 */
export interface KeyChangeFeed {
  /** The newest change id (0 when nothing was ever recorded). */
  latestId(): Promise<number>;
  /** Changes with an id above `afterId`, oldest first, at most `limit`. */
  changesAfter(afterId: number, limit: number): Promise<readonly { id: number; kind: string; entityId: string }[]>;
}

/** Keeps the live state's keys (what the XKS data plane reads) in step with the database. */
export interface KeyLiveSync {
  /** Loads every customer key into the live state (node start, unseal): two queries, whatever the key count. */
  readonly loadAll: () => Promise<void>;
  /**
   * Applies the key changes made since the last pass, by this node or any other of the fleet (loadAll
   * when nothing was loaded yet): it reads the change sequence after the last change applied and re-reads
   * only the keys it names. Ids follow commit order, so nothing is skipped whatever the writers' clocks say,
   * and a pass with no key change costs one indexed query. (It used to read back every key stamped in the
   * last 10 minutes, a margin for the writers' clocks: after a bulk import, or in the benchmark just after
   * seeding, that was 100,000 stamps every pass.)
   */
  readonly syncLive: () => Promise<void>;
}

export function createKeyLiveSync({
  keyStore,
  liveKeys,
  changes,
  clock,
}: {
  keyStore: KeyStore;
  liveKeys: LiveKeys;
  changes: KeyChangeFeed;
  clock: Clock;
}): KeyLiveSync {
  /** The newest change this node's live keys reflect (undefined: nothing loaded yet). */
  let appliedChangeId: number | undefined;
  /** When the sequence was last read through (epoch ms). */
  let syncedAt = 0;

  async function loadAll(): Promise<void> {
    appliedChangeId = undefined;
    // Read before the keys: a change committed while they are read is applied again by the next pass.
    const loadedAfter = await changes.latestId();
    const [versions, records] = await Promise.all([keyStore.listKeyVersions(), keyStore.listLiveKeys()]);
    const versionsByKey = new Map<string, StoredKeyVersion[]>();
    for (const version of versions) {
      const ofKey = versionsByKey.get(version.keyId);
      if (ofKey) ofKey.push(version);
      else versionsByKey.set(version.keyId, [version]);
    }
    await liveKeys.publishAll(records.map((record) => [record, versionsByKey.get(record.id) ?? []] as const));
    appliedChangeId = loadedAfter;
    syncedAt = clock.now();
  }

  async function syncLive(): Promise<void> {
    if (appliedChangeId === undefined || clock.now() - syncedAt > STALE_CURSOR_MS) return loadAll();
    for (;;) {
      const page = await changes.changesAfter(appliedChangeId, SYNC_PAGE_SIZE);
      const changedKeys = new Set<string>();
      for (const change of page) if (change.kind === 'key') changedKeys.add(change.entityId);
      for (const id of changedKeys) {
        const record = await keyStore.getKeyById(id);
        if (record && !record.internal) await liveKeys.publish(record);
      }
      const newest = page.at(-1);
      if (newest) appliedChangeId = newest.id;
      if (page.length < SYNC_PAGE_SIZE) break;
    }
    syncedAt = clock.now();
  }

  return { loadAll, syncLive };
}
