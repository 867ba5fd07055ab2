import { conflict, invalid, ManagementError, notFound } from '../core/errors.js';
import type { KeyRecord, KeyUsage } from '../domain/types.js';
import { validateNewKey } from './attributes.js';
import type { ImportWrappingKeys, WrappingKeyView } from './import-wrapping.js';
import { refuseDestroyedId, type KeyLookup } from './key-lookup.js';
import type { KeyMaterial } from './key-material.js';
import type { KeyStore } from './key-store.js';
import { LIVE, refuse } from './key-transitions.js';
import type { KeyView, KeyViews } from './key-views.js';

/** What `keyhold key import` and POST /api/v1/keys/import send. */
export interface KeyImportRequest {
  id: string;
  keystore?: string;
  wrappingKeyId: string;
  wrappedKey: string;
  usage?: KeyUsage[];
  description?: string;
  tags?: Record<string, string>;
  /** Refuse unless the import makes a new key, or unless it adds a version to an existing one. */
  into?: 'new-key' | 'new-version';
}

/** Bring your own key (docs/rotation.md): key material made outside Keyhold, wrapped for the import. */
export interface KeyImport {
  /** A fresh RSA-3072 public key to wrap key material with (RSA-OAEP-SHA256); valid 24 h, for one import. */
  readonly createImportWrappingKey: () => Promise<WrappingKeyView>;
  /**
   * Unwraps `wrappedKey` (base64 RSA-OAEP-SHA256 ciphertext of a 32-byte AES key) and makes it a new key
   * (when `id` does not exist; `keystore` names where) or the next, current version of an existing key.
   */
  readonly importKey: (input: KeyImportRequest) => Promise<KeyView>;
}

export function createKeyImport(deps: {
  keyStore: KeyStore;
  lookup: KeyLookup;
  views: KeyViews;
  material: KeyMaterial;
  wrappingKeys: ImportWrappingKeys;
}): KeyImport {
  const { keyStore, lookup, views, material, wrappingKeys } = deps;

  /** The key the import adds a version to (undefined: it makes a new key in `groupId`). */
  async function target(input: KeyImportRequest): Promise<{ existing?: KeyRecord; groupId?: string }> {
    if (input.keystore !== undefined) {
      const groupId = (await lookup.requireKeystore(input.keystore)).groupId;
      const existing = await keyStore.getKey(groupId, input.id);
      if (existing?.internal) throw conflict(`key "${input.id}" is internal`);
      return { existing, groupId };
    }
    const existing = await lookup.requireKey(input.id).catch((error: unknown) => {
      if (error instanceof ManagementError && error.kind === 'not-found')
        throw notFound(`no key "${input.id}"; to import a new key, name its --keystore`);
      throw error;
    });
    return { existing };
  }

  return {
    createImportWrappingKey: () => wrappingKeys.create(),

    async importKey(input) {
      validateNewKey(input);
      const { existing, groupId } = await target(input);
      refuseDestroyedId(existing, input.id);
      if (existing && input.into === 'new-key') throw conflict(`key "${input.id}" already exists; import into it as a new version instead`);
      if (!existing && input.into === 'new-version') throw notFound(`no key "${input.id}" in keystore "${input.keystore}"`);
      if (existing && !LIVE.includes(existing.status)) refuse(existing, 'import a new version');
      if (existing && (input.usage !== undefined || input.description !== undefined || input.tags !== undefined)) {
        throw invalid(`key "${input.id}" exists, so the import adds a version; usage, description and tags are set on new keys only`);
      }
      const unwrapped = await wrappingKeys.unwrap(input.wrappingKeyId, input.wrappedKey);
      try {
        await wrappingKeys.consume(input.wrappingKeyId);
        if (existing) {
          const updated = await material.addVersion(existing, unwrapped);
          if (!updated) throw conflict(`key "${input.id}" was rotated by someone else meanwhile; ask for a new wrapping key and retry`);
          return views.view(updated);
        }
        // Without a keystore the key was found (or the lookup refused), so a new key always has its group.
        if (groupId === undefined) throw notFound(`no key "${input.id}"; to import a new key, name its --keystore`);
        const usage = input.usage ?? ['ENCRYPT', 'DECRYPT'];
        return views.view(await material.insertKey(groupId, input.id, usage, false, { ...input, material: unwrapped }));
      } finally {
        unwrapped.fill(0);
      }
    },
  };
}
