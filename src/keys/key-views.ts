import type { KeyRecord, KeyStatus, KeyUsage, KeyVersionOrigin, KeyVersionState, StoredKeyVersion } from '../domain/types.js';
import type { KeystoreDirectory } from './keystore-directory.js';

/** A key as the admin API and the CLI show it. */
export interface KeyView {
  id: string;
  /** The keystores serving the key's group, comma-separated; absent when none does. */
  keystore?: string;
  group: string;
  usage: KeyUsage[];
  status: KeyStatus;
  blockReason?: string;
  deletionDate?: string;
  currentVersion: number;
  minDecryptVersion: number;
  rotationPeriodDays?: number;
  nextRotationAt?: string;
  description: string;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** One version of a key as the admin API and the CLI show it. */
export interface KeyVersionView {
  version: number;
  state: KeyVersionState;
  origin: KeyVersionOrigin;
  current: boolean;
  /** Whether Decrypt accepts ciphertexts of this version now (ENABLED and ≥ the minimum decryption version). */
  decrypts: boolean;
  createdAt: string;
  revokedAt?: string;
  destroyedAt?: string;
}

/** Describes keys with the names of their group and keystores. */
export interface KeyViews {
  /** Reads groups and keystores once, whatever the number of keys. */
  views(records: KeyRecord[]): Promise<KeyView[]>;
  view(record: KeyRecord): Promise<KeyView>;
}

/** Epoch milliseconds as ISO 8601, keeping undefined. */
export const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function versionView(record: KeyRecord, v: StoredKeyVersion): KeyVersionView {
  return {
    version: v.version,
    state: v.state,
    origin: v.origin,
    current: v.version === record.currentVersion,
    decrypts: record.status !== 'DESTROYED' && v.state === 'ENABLED' && v.version >= record.minDecryptVersion,
    createdAt: new Date(v.createdAt).toISOString(),
    revokedAt: iso(v.revokedAt),
    destroyedAt: iso(v.destroyedAt),
  };
}

export function createKeyViews({ directory }: { directory: KeystoreDirectory }): KeyViews {
  async function views(records: KeyRecord[]): Promise<KeyView[]> {
    const [groups, keystores] = await Promise.all([directory.listGroups(), directory.listKeystores()]);
    const groupName = new Map(groups.map((g) => [g.id, g.name]));
    const keystoreNames = new Map<string, string[]>();
    for (const keystore of keystores) keystoreNames.set(keystore.groupId, [...(keystoreNames.get(keystore.groupId) ?? []), keystore.name]);
    return records.map((record) => {
      const names = keystoreNames.get(record.groupId) ?? [];
      return {
        id: record.externalId,
        keystore: names.length > 0 ? names.join(',') : undefined,
        group: groupName.get(record.groupId) ?? record.groupId,
        usage: record.usage,
        status: record.status,
        blockReason: record.blockReason,
        deletionDate: iso(record.deletionDate),
        currentVersion: record.currentVersion,
        minDecryptVersion: record.minDecryptVersion,
        rotationPeriodDays: record.rotationPeriodDays,
        nextRotationAt: iso(record.nextRotationAt),
        description: record.description,
        tags: record.tags,
        createdAt: new Date(record.createdAt).toISOString(),
        updatedAt: new Date(record.updatedAt).toISOString(),
      };
    });
  }

  return {
    views,
    async view(record) {
      const [view] = await views([record]);
      // views() maps each record to one view.
      if (!view) throw new Error(`no view of key "${record.externalId}"`);
      return view;
    },
  };
}
