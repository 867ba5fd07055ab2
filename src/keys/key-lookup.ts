import { conflict, notFound } from '../core/errors.js';
import type { KeyRecord, Keystore } from '../domain/types.js';
import type { KeyStore } from './key-store.js';
import type { KeystoreDirectory } from './keystore-directory.js';

/** Names a key: its external id, and the keystore when the id exists in several groups. */
export interface KeyRef {
  id: string;
  keystore?: string;
}

/** A destroyed key keeps its id for good: its ciphertexts in KMS must never decrypt under a new key. */
export function refuseDestroyedId(existing: KeyRecord | undefined, id: string): void {
  if (existing?.status === 'DESTROYED') throw conflict(`key "${id}" was destroyed; a key id is never reused`);
}

/** Finds what management actions name (keystores and customer keys), refusing in one line when absent. */
export interface KeyLookup {
  requireKeystore(name: string): Promise<Keystore>;
  /**
   * Finds a customer key by id, in the keystore's group when one is named, else in whichever single group
   * has it (a conflict when several do). Internal keys (the canary) are never found.
   */
  requireKey(externalId: string, keystoreName?: string): Promise<KeyRecord>;
  /** The key's row as the database holds it now (after a write). */
  reread(record: KeyRecord): Promise<KeyRecord>;
}

export function createKeyLookup({ keyStore, directory }: { keyStore: KeyStore; directory: KeystoreDirectory }): KeyLookup {
  async function requireKeystore(name: string): Promise<Keystore> {
    const keystore = await directory.getKeystoreByName(name);
    if (!keystore) throw notFound(`no keystore named "${name}"`);
    return keystore;
  }

  return {
    requireKeystore,

    async requireKey(externalId, keystoreName) {
      if (keystoreName !== undefined) {
        const keystore = await requireKeystore(keystoreName);
        const key = await keyStore.getKey(keystore.groupId, externalId);
        if (!key || key.internal) throw notFound(`no key "${externalId}" in keystore "${keystoreName}"`);
        return key;
      }
      const found = await Promise.all((await directory.listGroups()).map((group) => keyStore.getKey(group.id, externalId)));
      const [match, ...others] = found.filter((k): k is KeyRecord => k !== undefined && !k.internal);
      if (!match) throw notFound(`no key "${externalId}"`);
      if (others.length > 0) throw conflict(`key id "${externalId}" exists in ${others.length + 1} groups; name the keystore`);
      return match;
    },

    async reread(record) {
      const fresh = await keyStore.getKeyById(record.id);
      if (!fresh) throw notFound(`no key "${record.externalId}"`);
      return fresh;
    },
  };
}
