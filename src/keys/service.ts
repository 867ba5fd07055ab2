import type { Clock } from '../core/clock.js';
import type { LiveState } from '../registry/live-state.js';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import { createKeyCanary, type KeyCanary } from './canary.js';
import { createImportWrappingKeys } from './import-wrapping.js';
import { createKeyImport, type KeyImport } from './key-import.js';
import { createKeyLookup } from './key-lookup.js';
import { createKeySearchService, type KeySearchService } from './key-search.js';
import { createKeyMaterial } from './key-material.js';
import type { KeyStore } from './key-store.js';
import { createKeyTransitions } from './key-transitions.js';
import { createKeyViews } from './key-views.js';
import type { KeystoreDirectory } from './keystore-directory.js';
import { createKeyLifecycle, type KeyLifecycle } from './lifecycle.js';
import { createLiveKeys } from './live-keys.js';
import { createKeyLiveSync, type KeyChangeFeed, type KeyLiveSync } from './live-sync.js';
import { createScheduledKeyWork, type ScheduledKeyWork } from './scheduled-work.js';
import { createKeyVersions, type KeyVersions } from './versions.js';

// The keys feature's public vocabulary, importable from its facade.
export type { KeyRef } from './key-lookup.js';
export type { KeyView, KeyVersionView } from './key-views.js';
export type { NewKey } from './lifecycle.js';
export type { KeyImportRequest } from './key-import.js';
export type { KeyListQuery, KeyPage } from './key-search.js';
export { DEFAULT_KEY_PAGE, KEY_STATUSES, MAX_KEY_PAGE, MAX_KEY_SEARCH } from './key-search.js';
export type { ScheduledWork } from './scheduled-work.js';
export { CANARY_GROUP, CANARY_KEY_ID } from './canary.js';
export { MAX_DELETION_DAYS, MIN_DELETION_DAYS } from './lifecycle.js';
export { MAX_ROTATION_DAYS } from './versions.js';
export { parseUsage, validateExternalKeyId } from './attributes.js';

export interface KeyServiceDeps {
  keyStore: KeyStore;
  /** Groups and keystores (names in views; the keystore a key is created in; the canary's group). */
  directory: KeystoreDirectory;
  root: RootOfTrust;
  live: LiveState;
  clock: Clock;
  newId: () => string;
  /** The fleet's change sequence, which tells the live sync which keys changed (live-sync.ts). */
  changes: KeyChangeFeed;
}

/**
 * Everything the node does with keys, as one object for the callers that use several parts (admin
 * routes, approval executors, node start). Each part is its own module with its own interface; callers
 * that need one part take that interface:
 * - KeyLifecycle (lifecycle.ts): create, list, show, enable/disable, block/unblock, deletion, tags, description;
 * - KeySearchService (key-search.ts): search, filters and keyset pages of keys (GET /api/v1/keys);
 * - KeyVersions (versions.ts): rotation and its policy, versions, minimum decryption version, revoke, destroy;
 * - KeyImport (key-import.ts): bring your own key;
 * - KeyLiveSync (live-sync.ts): the database into the data plane's live state (loadAll, syncLive);
 * - ScheduledKeyWork (scheduled-work.ts): rotation and destruction that fall due (runDue);
 * - KeyCanary (canary.ts): the deep health check's key (ensureCanary).
 * Every method is a plain function (no `this`), so routes may pass `keys.block` on its own.
 */
export interface KeyService extends KeyLifecycle, KeySearchService, KeyVersions, KeyImport, KeyLiveSync, ScheduledKeyWork, KeyCanary {}

export function createKeyService({ keyStore, directory, root, live, clock, newId, changes }: KeyServiceDeps): KeyService {
  // The small pieces every part shares: finding keys, describing them, publishing them to the data
  // plane, writing their material, and the compare-and-set status change.
  const lookup = createKeyLookup({ keyStore, directory });
  const views = createKeyViews({ directory });
  const liveKeys = createLiveKeys({ keyStore, root, live });
  const material = createKeyMaterial({ keyStore, root, clock, newId, lookup, liveKeys });
  const transitions = createKeyTransitions({ keyStore, clock, lookup, views, liveKeys });
  const wrappingKeys = createImportWrappingKeys({ keyStore, root, clock, newId });

  return {
    ...createKeyLifecycle({ keyStore, clock, lookup, views, material, transitions }),
    ...createKeySearchService({ keyStore, lookup, views }),
    ...createKeyVersions({ keyStore, clock, lookup, views, liveKeys, material, transitions }),
    ...createKeyImport({ keyStore, lookup, views, material, wrappingKeys }),
    ...createKeyLiveSync({ keyStore, liveKeys, changes, clock }),
    ...createScheduledKeyWork({ keyStore, clock, material }),
    ...createKeyCanary({ keyStore, directory, clock, newId, liveKeys, material }),
  };
}
