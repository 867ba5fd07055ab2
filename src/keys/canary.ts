import type { Clock } from '../core/clock.js';
import type { DataKey } from '../roots/root-of-trust.js';
import type { KeyMaterial } from './key-material.js';
import type { KeyStore } from './key-store.js';
import type { KeystoreDirectory } from './keystore-directory.js';
import type { LiveKeys } from './live-keys.js';

export const CANARY_GROUP = '__system';
export const CANARY_KEY_ID = 'health-canary';

/** The key the deep health check encrypts and decrypts with (src/health/health-monitor.ts). */
export interface KeyCanary {
  /**
   * The dedicated health-check key, created (with its `__system` group) on first use; an internal key,
   * never reachable through XKS nor listed to operators.
   *
   *= docs/requirements.md#health
   *# 61. [SHOULD] Health cryptography uses keys kept for that purpose, never keys behind KMS keys.
   */
  readonly ensureCanary: () => Promise<DataKey>;
}

/**
 * Stands in for a canary whose current version cannot be opened (its row was changed outside Keyhold):
 * the node still starts and serves, and every deep health check reports UNAVAILABLE with this reason.
 */
function unusableCanary(version: number): DataKey {
  const fail = () => Promise.reject(new Error(`the health canary's current version ${version} is not enabled`));
  return { encrypt: fail, decrypt: fail };
}

export function createKeyCanary(deps: {
  keyStore: KeyStore;
  directory: KeystoreDirectory;
  clock: Clock;
  newId: () => string;
  liveKeys: LiveKeys;
  material: KeyMaterial;
}): KeyCanary {
  const { keyStore, directory, clock, newId, liveKeys, material } = deps;
  return {
    async ensureCanary() {
      let group = await directory.getGroupByName(CANARY_GROUP);
      if (!group) {
        group = { id: newId(), name: CANARY_GROUP, createdAt: clock.now() };
        await directory.createGroup(group);
      }
      const record =
        (await keyStore.getKey(group.id, CANARY_KEY_ID)) ??
        (await material.insertKey(group.id, CANARY_KEY_ID, ['ENCRYPT', 'DECRYPT'], true));
      return (await liveKeys.openVersions(record)).get(record.currentVersion) ?? unusableCanary(record.currentVersion);
    },
  };
}
