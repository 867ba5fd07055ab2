import type { Clock } from '../core/clock.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import type { KeyRecord, KeyStatus, KeyUsage, Keystore, StoredKeyVersion } from '../domain/types.js';
import type { LiveState } from '../registry/live-state.js';
import { sealContext, type DataKey, type RootOfTrust } from '../roots/root-of-trust.js';
import type { Store } from '../storage/store.js';
import { translateStoreError } from '../storage/translate-error.js';

export interface KeyServiceDeps {
  store: Store;
  root: RootOfTrust;
  live: LiveState;
  clock: Clock;
  newId: () => string;
}

export interface KeyView {
  id: string;
  keystore?: string;
  group: string;
  usage: KeyUsage[];
  status: KeyStatus;
  currentVersion: number;
  createdAt: string;
  updatedAt: string;
}

/**
 *= xks-spec.md#14.2
 *# 17. [MUST] Support `externalKeyId` values of up to 128 characters from `[A-Za-z0-9._-]`.
 */
const EXTERNAL_KEY_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function validateExternalKeyId(id: string): void {
  if (!EXTERNAL_KEY_ID.test(id)) throw invalid('key id must be 1-128 characters of A-Z a-z 0-9 . _ -');
  // Ids made only of dots collide with URL dot-segment normalization (xks-spec.md §3.3).
  if (/^\.+$/.test(id)) throw invalid('key id must not consist only of dots');
}

/** Parses `ENCRYPT,DECRYPT`, `ENCRYPT`, `DECRYPT` or `none` (case-insensitive). */
export function parseUsage(text: string): KeyUsage[] {
  const trimmed = text.trim().toUpperCase();
  if (trimmed === 'NONE' || trimmed === '') return [];
  const parts = [...new Set(trimmed.split(',').map((p) => p.trim()))];
  for (const part of parts) {
    if (part !== 'ENCRYPT' && part !== 'DECRYPT') throw invalid(`usage must be ENCRYPT,DECRYPT, ENCRYPT, DECRYPT or none (got "${text}")`);
  }
  return (['ENCRYPT', 'DECRYPT'] as const).filter((u) => parts.includes(u));
}

export const CANARY_GROUP = '__system';
export const CANARY_KEY_ID = 'health-canary';

export function createKeyService({ store, root, live, clock, newId }: KeyServiceDeps) {
  async function openVersions(record: KeyRecord, stored?: StoredKeyVersion[]): Promise<Map<number, DataKey>> {
    const versions = new Map<number, DataKey>();
    for (const version of stored ?? (await store.listKeyVersions(record.id))) {
      versions.set(version.version, await root.openKey(version.sealedMaterial, sealContext.keyMaterial(record.id, version.version)));
    }
    return versions;
  }

  async function requireKeystore(name: string): Promise<Keystore> {
    const keystore = await store.getKeystoreByName(name);
    if (!keystore) throw notFound(`no keystore named "${name}"`);
    return keystore;
  }

  /** Finds a key by id, in the keystore's group when given, else in whichever single group has it. */
  async function requireKey(externalId: string, keystoreName?: string): Promise<KeyRecord> {
    if (keystoreName !== undefined) {
      const keystore = await requireKeystore(keystoreName);
      const key = await store.getKey(keystore.groupId, externalId);
      if (!key || key.internal) throw notFound(`no key "${externalId}" in keystore "${keystoreName}"`);
      return key;
    }
    const found = await Promise.all((await store.listGroups()).map((group) => store.getKey(group.id, externalId)));
    const matches = found.filter((k): k is KeyRecord => k !== undefined && !k.internal);
    if (matches.length === 0) throw notFound(`no key "${externalId}"`);
    if (matches.length > 1) throw conflict(`key id "${externalId}" exists in ${matches.length} groups; name the keystore`);
    return matches[0]!;
  }

  /** Describes keys with their group and keystore names, reading groups and keystores once. */
  async function views(records: KeyRecord[]): Promise<KeyView[]> {
    const [groups, keystores] = await Promise.all([store.listGroups(), store.listKeystores()]);
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
        currentVersion: record.currentVersion,
        createdAt: new Date(record.createdAt).toISOString(),
        updatedAt: new Date(record.updatedAt).toISOString(),
      };
    });
  }

  const view = async (record: KeyRecord): Promise<KeyView> => (await views([record]))[0]!;

  async function insertKey(groupId: string, externalId: string, usage: KeyUsage[], internal: boolean): Promise<KeyRecord> {
    const now = clock.now();
    const record: KeyRecord = {
      id: newId(),
      groupId,
      externalId,
      usage,
      status: 'ENABLED',
      internal,
      currentVersion: 1,
      createdAt: now,
      updatedAt: now,
    };
    const sealedMaterial = await root.createKeyMaterial(sealContext.keyMaterial(record.id, 1));
    await translateStoreError(() => store.createKey(record, { keyId: record.id, version: 1, sealedMaterial, createdAt: now }));
    live.putKey({ record, versions: await openVersions(record) });
    return record;
  }

  async function setStatus(externalId: string, status: KeyStatus, keystoreName?: string): Promise<KeyView> {
    const record = await requireKey(externalId, keystoreName);
    const now = clock.now();
    await translateStoreError(() => store.updateKey(record.id, { status }, now));
    const updated = { ...record, status, updatedAt: now };
    const current = live.key(record.groupId, record.externalId);
    live.putKey({ record: updated, versions: current?.versions ?? (await openVersions(updated)) });
    return view(updated);
  }

  return {
    async create(input: { id: string; keystore: string; usage?: KeyUsage[] }): Promise<KeyView> {
      validateExternalKeyId(input.id);
      const keystore = await requireKeystore(input.keystore);
      if (await store.getKey(keystore.groupId, input.id)) {
        throw conflict(`key "${input.id}" already exists in keystore "${input.keystore}"`);
      }
      return view(await insertKey(keystore.groupId, input.id, input.usage ?? ['ENCRYPT', 'DECRYPT'], false));
    },

    async list(keystoreName?: string): Promise<KeyView[]> {
      const groupId = keystoreName === undefined ? undefined : (await requireKeystore(keystoreName)).groupId;
      return views(await store.listKeys(groupId));
    },

    async show(externalId: string, keystoreName?: string): Promise<KeyView> {
      return view(await requireKey(externalId, keystoreName));
    },

    enable: (externalId: string, keystoreName?: string) => setStatus(externalId, 'ENABLED', keystoreName),
    disable: (externalId: string, keystoreName?: string) => setStatus(externalId, 'DISABLED', keystoreName),

    /**
     * The dedicated health-check key, never reachable through XKS.
     *
     *= xks-spec.md#14.7
     *# 61. [SHOULD] Use dedicated test keys for health crypto, never keys tied to KMS keys.
     */
    async ensureCanary(): Promise<DataKey> {
      let group = await store.getGroupByName(CANARY_GROUP);
      if (!group) {
        group = { id: newId(), name: CANARY_GROUP, createdAt: clock.now() };
        await store.createGroup(group);
      }
      const record = (await store.getKey(group.id, CANARY_KEY_ID)) ?? (await insertKey(group.id, CANARY_KEY_ID, ['ENCRYPT', 'DECRYPT'], true));
      const versions = await openVersions(record);
      return versions.get(record.currentVersion)!;
    },

    /** Loads every customer key into the live state (node start): two queries, whatever the key count. */
    async loadAll(): Promise<void> {
      const versionsByKey = new Map<string, StoredKeyVersion[]>();
      for (const version of await store.listKeyVersions()) {
        versionsByKey.set(version.keyId, [...(versionsByKey.get(version.keyId) ?? []), version]);
      }
      for (const record of await store.listKeys()) {
        live.putKey({ record, versions: await openVersions(record, versionsByKey.get(record.id) ?? []) });
      }
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
