/**
 * Records for data-access tests, each with fresh ids and names so tests share one database without
 * clashing. Timestamps are above 2^32 so an unparsed PostgreSQL int8 (a string) would show.
 */
import { randomBytes } from 'node:crypto';
import type { Group, Keystore, StoredCredential } from '../../src/domain/types.js';
import type { KeystoreStore } from '../../src/keystores/keystore-store.js';

export const T0 = 1_700_000_000_000;
export const unique = (): string => randomBytes(5).toString('hex');
export const bytes = (n = 32): Buffer => randomBytes(n);

export const newGroup = (): Group => ({ id: `g-${unique()}`, name: `group-${unique()}`, createdAt: T0 });

export const newKeystore = (groupId: string): Keystore => {
  const u = unique();
  return {
    id: `ks-${u}`,
    name: `ks-${u}`,
    prefix: `/p-${u}`,
    region: 'us-east-1',
    groupId,
    status: 'ENABLED',
    createdAt: T0 + 1,
  };
};

export const newCredential = (keystoreId: string, createdAt = T0 + 2): StoredCredential => ({
  accessKeyId: `AKIA${unique().toUpperCase()}`,
  keystoreId,
  sealedSecret: bytes(48),
  createdAt,
});

/** A new group with a keystore in it and the keystore's first credential, stored. */
export async function seedKeystore(keystores: Pick<KeystoreStore, 'createGroup' | 'createKeystore'>) {
  const group = newGroup();
  await keystores.createGroup(group);
  const keystore = newKeystore(group.id);
  const credential = newCredential(keystore.id);
  await keystores.createKeystore(keystore, credential);
  return { group, keystore, credential };
}
