import type { Clock } from '../core/clock.js';
import type { KeyRecord, KeyUsage, StoredKeyVersion } from '../domain/types.js';
import { sealContext, type RootOfTrust } from '../roots/root-of-trust.js';
import { translateStoreError } from '../storage/translate-error.js';
import { daysAfter } from './attributes.js';
import type { KeyChanges, KeyStore } from './key-store.js';
import type { KeyLookup } from './key-lookup.js';
import type { LiveKeys } from './live-keys.js';

/** What a new key carries besides its id and usage. */
export interface NewKeyExtras {
  description?: string;
  tags?: Record<string, string>;
  /** Imported material (bring your own key); new material is created when absent. */
  material?: Buffer;
}

/**
 * The writes that create or erase key material: each pairs a root-of-trust call with the database row,
 * so neither is left without the other, and publishes the result to the data plane.
 */
export interface KeyMaterial {
  /** A new ENABLED key with version 1; the material is destroyed again when the row cannot be written. */
  insertKey(groupId: string, externalId: string, usage: KeyUsage[], internal: boolean, extras?: NewKeyExtras): Promise<KeyRecord>;
  /**
   * Adds version n+1 (new or imported material) and makes it current, compare-and-set on version n.
   * Returns undefined when another node rotated first (the unused material is destroyed).
   */
  addVersion(record: KeyRecord, material?: Buffer): Promise<KeyRecord | undefined>;
  /** Erases one version's material: the root destroys it, then the stored reference is overwritten. */
  eraseVersion(record: KeyRecord, version: StoredKeyVersion): Promise<void>;
  /** Erases every version of a DESTROYED key (also finishes a destruction a crash interrupted). */
  eraseAllVersions(record: KeyRecord): Promise<void>;
}

export function createKeyMaterial(deps: {
  keyStore: KeyStore;
  root: RootOfTrust;
  clock: Clock;
  newId: () => string;
  lookup: KeyLookup;
  liveKeys: LiveKeys;
}): KeyMaterial {
  const { keyStore, root, clock, newId, lookup, liveKeys } = deps;

  async function eraseVersion(record: KeyRecord, version: StoredKeyVersion): Promise<void> {
    if (version.state === 'DESTROYED') return;
    await root.destroyKeyMaterial(version.sealedMaterial, sealContext.keyMaterial(record.id, version.version));
    await keyStore.updateKeyVersion(record.id, version.version, {
      state: 'DESTROYED',
      sealedMaterial: Buffer.alloc(0),
      destroyedAt: clock.now(),
    });
  }

  return {
    async insertKey(groupId, externalId, usage, internal, extras = {}) {
      const now = clock.now();
      const record: KeyRecord = {
        id: newId(),
        groupId,
        externalId,
        usage,
        status: 'ENABLED',
        internal,
        currentVersion: 1,
        description: extras.description ?? '',
        tags: extras.tags ?? {},
        minDecryptVersion: 1,
        createdAt: now,
        updatedAt: now,
      };
      const context = sealContext.keyMaterial(record.id, 1);
      const sealedMaterial = extras.material
        ? await root.importKeyMaterial(extras.material, context)
        : await root.createKeyMaterial(context);
      const origin = extras.material ? 'IMPORTED' : 'GENERATED';
      try {
        await translateStoreError(() =>
          keyStore.createKey(record, { keyId: record.id, version: 1, sealedMaterial, state: 'ENABLED', origin, createdAt: now }),
        );
      } catch (error) {
        await root.destroyKeyMaterial(sealedMaterial, context).catch(() => undefined);
        throw error;
      }
      return liveKeys.publish(record);
    },

    async addVersion(record, material) {
      const version = record.currentVersion + 1;
      const context = sealContext.keyMaterial(record.id, version);
      const sealedMaterial = material ? await root.importKeyMaterial(material, context) : await root.createKeyMaterial(context);
      const now = clock.now();
      const changes: KeyChanges =
        record.rotationPeriodDays === undefined ? {} : { nextRotationAt: daysAfter(now, record.rotationPeriodDays) };
      const stored: StoredKeyVersion = {
        keyId: record.id,
        version,
        sealedMaterial,
        state: 'ENABLED',
        origin: material ? 'IMPORTED' : 'GENERATED',
        createdAt: now,
      };
      let added = false;
      try {
        added = await translateStoreError(() => keyStore.addCurrentVersion(stored, record.currentVersion, changes, now));
      } finally {
        if (!added) await root.destroyKeyMaterial(sealedMaterial, context).catch(() => undefined);
      }
      return added ? liveKeys.publish(await lookup.reread(record)) : undefined;
    },

    eraseVersion,

    async eraseAllVersions(record) {
      // The data plane forgets the key first: from here on it answers KeyNotFoundException.
      liveKeys.withdraw(record);
      for (const version of await keyStore.listKeyVersions(record.id)) await eraseVersion(record, version);
    },
  };
}
