import type { Clock } from '../core/clock.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import type { KeyRecord, KeyStatus, KeyUsage, KeyVersionOrigin, KeyVersionState, Keystore, StoredKeyVersion } from '../domain/types.js';
import type { LiveState } from '../registry/live-state.js';
import { sealContext, type DataKey, type RootOfTrust } from '../roots/root-of-trust.js';
import type { KeystoreStore } from '../keystores/keystore-store.js';
import type { KeyChanges, KeyStamp, Store } from '../storage/store.js';
import { translateStoreError } from '../storage/translate-error.js';
import { lazyDataKey } from './lazy-data-key.js';
import { createImportWrappingKeys, type WrappingKeyView } from './import-wrapping.js';
import { validateDescription, validateReason, validateTags } from './attributes.js';

export interface KeyServiceDeps {
  store: Store;
  /** Groups and keystores (src/keystores/): where keys live and which keystore names them. */
  keystoreStore: Pick<KeystoreStore, 'getKeystoreByName' | 'listKeystores' | 'getGroupByName' | 'listGroups' | 'createGroup'>;
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

/** Names a key: its external id, and the keystore when the id exists in several groups. */
export interface KeyRef {
  id: string;
  keystore?: string;
}

export const MIN_DELETION_DAYS = 7;
export const MAX_DELETION_DAYS = 30;
export const MAX_ROTATION_DAYS = 3650;
const DAY_MS = 24 * 60 * 60 * 1000;
const refOf = (key: KeyRef | string, keystore?: string): KeyRef => (typeof key === 'string' ? { id: key, keystore } : key);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

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

/** What the node did by itself in one scheduler pass (see rotation-scheduler.ts). */
export interface ScheduledWork {
  rotated: { key: string; group: string; version: number }[];
  destroyed: { key: string; group: string }[];
  failed: { key: string; group: string; action: string; reason: string }[];
}

/** How far behind the newest change syncLive reads again, for writers whose clocks run behind. */
const SYNC_CLOCK_MARGIN_MS = 10 * 60_000;
/** Key stamps read per query by syncLive; the event loop runs between pages (~5 ms each at this size). */
const SYNC_PAGE_SIZE = 2_000;

export function createKeyService({ store, keystoreStore, root, live, clock, newId }: KeyServiceDeps) {
  /** The newest `updatedAt` this node has read from the database (undefined: read everything). */
  let syncedUpTo: number | undefined;
  const wrappingKeys = createImportWrappingKeys({ store, root, clock, newId });

  /**
   * The versions Decrypt may use (ENABLED ones), opened on first use unless the root asks for every key
   * at start (src/roots/root-of-trust.ts `opensKeysAtStart`); keys already in memory are reused.
   */
  async function openVersions(record: KeyRecord, stored?: StoredKeyVersion[]): Promise<Map<number, DataKey>> {
    const versions = new Map<number, DataKey>();
    if (record.status === 'DESTROYED') return versions;
    const open = live.key(record.groupId, record.externalId);
    const reuse = open?.record.id === record.id ? open.versions : undefined;
    for (const version of stored ?? (await store.listKeyVersions(record.id))) {
      if (version.state !== 'ENABLED') continue;
      versions.set(version.version, reuse?.get(version.version) ?? (await openVersion(record, version)));
    }
    return versions;
  }

  async function openVersion(record: KeyRecord, version: StoredKeyVersion): Promise<DataKey> {
    const open = () => root.openKey(version.sealedMaterial, sealContext.keyMaterial(record.id, version.version));
    return root.opensKeysAtStart ? open() : lazyDataKey(open);
  }

  /** The database is written; now the data plane sees it (effective on the next request). */
  async function publish(record: KeyRecord): Promise<KeyRecord> {
    live.putKey({ record, versions: await openVersions(record) });
    return record;
  }

  async function reread(record: KeyRecord): Promise<KeyRecord> {
    const fresh = await store.getKeyById(record.id);
    if (!fresh) throw notFound(`no key "${record.externalId}"`);
    return fresh;
  }

  async function requireKeystore(name: string): Promise<Keystore> {
    const keystore = await keystoreStore.getKeystoreByName(name);
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
    const found = await Promise.all((await keystoreStore.listGroups()).map((group) => store.getKey(group.id, externalId)));
    const matches = found.filter((k): k is KeyRecord => k !== undefined && !k.internal);
    if (matches.length === 0) throw notFound(`no key "${externalId}"`);
    if (matches.length > 1) throw conflict(`key id "${externalId}" exists in ${matches.length} groups; name the keystore`);
    return matches[0]!;
  }

  /** Describes keys with their group and keystore names, reading groups and keystores once. */
  async function views(records: KeyRecord[]): Promise<KeyView[]> {
    const [groups, keystores] = await Promise.all([keystoreStore.listGroups(), keystoreStore.listKeystores()]);
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

  const view = async (record: KeyRecord): Promise<KeyView> => (await views([record]))[0]!;

  /** Says why a key in `status` cannot take `action`, as one line. */
  function refuse(record: KeyRecord, action: string): never {
    const name = `key "${record.externalId}"`;
    switch (record.status) {
      case 'DESTROYED':
        throw conflict(`${name} is destroyed; cannot ${action}`);
      case 'PENDING_DELETION':
        throw conflict(`${name} is pending deletion (on ${iso(record.deletionDate)}); cancel the deletion first to ${action}`);
      case 'BLOCKED':
        throw conflict(`${name} is blocked (${record.blockReason ?? 'no reason given'}); unblock it first to ${action}`);
      default:
        throw conflict(`${name} is ${record.status.toLowerCase()}; cannot ${action}`);
    }
  }

  /**
   * Applies `changes` to a key found in one of `from`, compare-and-set on its status (a racing change,
   * such as the scheduler destroying it, makes this one fail with a clear message rather than undo it).
   */
  async function transition(ref: KeyRef, from: KeyStatus[], action: string, changes: (record: KeyRecord) => KeyChanges): Promise<KeyView> {
    const record = await requireKey(ref.id, ref.keystore);
    if (!from.includes(record.status)) refuse(record, action);
    const applied = await translateStoreError(() => store.updateKey(record.id, changes(record), clock.now(), { status: [record.status] }));
    if (!applied) throw conflict(`key "${record.externalId}" changed while this ran; look at it again and retry`);
    return view(await publish(await reread(record)));
  }

  async function insertKey(
    groupId: string,
    externalId: string,
    usage: KeyUsage[],
    internal: boolean,
    extra: { description?: string; tags?: Record<string, string>; material?: Buffer } = {},
  ): Promise<KeyRecord> {
    const now = clock.now();
    const record: KeyRecord = {
      id: newId(),
      groupId,
      externalId,
      usage,
      status: 'ENABLED',
      internal,
      currentVersion: 1,
      description: extra.description ?? '',
      tags: extra.tags ?? {},
      minDecryptVersion: 1,
      createdAt: now,
      updatedAt: now,
    };
    const context = sealContext.keyMaterial(record.id, 1);
    const sealedMaterial = extra.material ? await root.importKeyMaterial(extra.material, context) : await root.createKeyMaterial(context);
    const origin = extra.material ? 'IMPORTED' : 'GENERATED';
    try {
      await translateStoreError(() =>
        store.createKey(record, { keyId: record.id, version: 1, sealedMaterial, state: 'ENABLED', origin, createdAt: now }),
      );
    } catch (error) {
      await root.destroyKeyMaterial(sealedMaterial, context).catch(() => undefined);
      throw error;
    }
    return publish(record);
  }

  /**
   * Adds version n+1 (new or imported material) and makes it current, compare-and-set on version n.
   * Returns undefined when another node rotated first (the unused material is destroyed).
   */
  async function addVersion(record: KeyRecord, material?: Buffer): Promise<KeyRecord | undefined> {
    const version = record.currentVersion + 1;
    const context = sealContext.keyMaterial(record.id, version);
    const sealedMaterial = material ? await root.importKeyMaterial(material, context) : await root.createKeyMaterial(context);
    const now = clock.now();
    const changes: KeyChanges = record.rotationPeriodDays === undefined ? {} : { nextRotationAt: now + record.rotationPeriodDays * DAY_MS };
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
      added = await translateStoreError(() => store.addCurrentVersion(stored, record.currentVersion, changes, now));
    } finally {
      if (!added) await root.destroyKeyMaterial(sealedMaterial, context).catch(() => undefined);
    }
    return added ? publish(await reread(record)) : undefined;
  }

  async function requireVersion(record: KeyRecord, version: number): Promise<StoredKeyVersion> {
    if (!Number.isInteger(version) || version < 1) throw invalid(`version must be a positive integer (got ${version})`);
    const found = (await store.listKeyVersions(record.id)).find((v) => v.version === version);
    if (!found) throw notFound(`key "${record.externalId}" has no version ${version} (current is ${record.currentVersion})`);
    return found;
  }

  /** Erases one version's material: the root destroys it, then the stored reference is overwritten. */
  async function eraseVersion(record: KeyRecord, version: StoredKeyVersion): Promise<void> {
    if (version.state === 'DESTROYED') return;
    await root.destroyKeyMaterial(version.sealedMaterial, sealContext.keyMaterial(record.id, version.version));
    await store.updateKeyVersion(record.id, version.version, {
      state: 'DESTROYED',
      sealedMaterial: Buffer.alloc(0),
      destroyedAt: clock.now(),
    });
  }

  /** Erases every version of a DESTROYED key (also finishes a destruction a crash interrupted). */
  async function eraseAllVersions(record: KeyRecord): Promise<void> {
    // The data plane forgets the key first: from here on it answers KeyNotFoundException.
    live.putKey({ record, versions: new Map() });
    for (const version of await store.listKeyVersions(record.id)) await eraseVersion(record, version);
  }

  const versionView = (record: KeyRecord, v: StoredKeyVersion): KeyVersionView => ({
    version: v.version,
    state: v.state,
    origin: v.origin,
    current: v.version === record.currentVersion,
    decrypts: record.status !== 'DESTROYED' && v.state === 'ENABLED' && v.version >= record.minDecryptVersion,
    createdAt: new Date(v.createdAt).toISOString(),
    revokedAt: iso(v.revokedAt),
    destroyedAt: iso(v.destroyedAt),
  });

  const LIVE: KeyStatus[] = ['ENABLED', 'DISABLED', 'BLOCKED'];

  /** Loads every customer key into the live state (node start): two queries, whatever the key count. */
  async function loadAll(): Promise<void> {
    syncedUpTo = undefined;
    const versionsByKey = new Map<string, StoredKeyVersion[]>();
    for (const version of await store.listKeyVersions()) {
      const versions = versionsByKey.get(version.keyId);
      if (versions) versions.push(version);
      else versionsByKey.set(version.keyId, [version]);
    }
    for (const record of await store.listKeys()) {
      if (syncedUpTo === undefined || record.updatedAt > syncedUpTo) syncedUpTo = record.updatedAt;
      live.putKey({ record, versions: await openVersions(record, versionsByKey.get(record.id) ?? []) });
    }
  }

  /**
   * Brings the in-memory keys up to date with the database (changes other nodes of a fleet made):
   * reads only the keys changed since the last pass (an indexed range), minus a margin for the
   * writers' clocks (SigV4 already needs every node within 5 minutes of true time): their stamps (id
   * and change time) in pages, yielding to the event loop between pages, then the full row of each key
   * that did change. Reading every full row at once held the event loop for about a second at 100,000 keys.
   */
  async function syncLive(): Promise<void> {
    if (syncedUpTo === undefined) return loadAll();
    const since = syncedUpTo - SYNC_CLOCK_MARGIN_MS;
    let after: KeyStamp | undefined;
    for (;;) {
      const page = await store.listKeyStamps(since, SYNC_PAGE_SIZE, after);
      for (const stamp of page) {
        if (stamp.updatedAt > syncedUpTo) syncedUpTo = stamp.updatedAt;
        const current = live.key(stamp.groupId, stamp.externalId);
        if (current && current.record.id === stamp.id && current.record.updatedAt === stamp.updatedAt) continue;
        const record = await store.getKeyById(stamp.id);
        if (record) await publish(record);
      }
      if (page.length < SYNC_PAGE_SIZE) return;
      after = page[page.length - 1];
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  return {
    async create(input: {
      id: string;
      keystore: string;
      usage?: KeyUsage[];
      description?: string;
      tags?: Record<string, string>;
    }): Promise<KeyView> {
      validateExternalKeyId(input.id);
      if (input.description !== undefined) validateDescription(input.description);
      if (input.tags !== undefined) validateTags(input.tags);
      const keystore = await requireKeystore(input.keystore);
      const existing = await store.getKey(keystore.groupId, input.id);
      if (existing?.status === 'DESTROYED') throw conflict(`key "${input.id}" was destroyed; a key id is never reused`);
      if (existing) throw conflict(`key "${input.id}" already exists in keystore "${input.keystore}"`);
      return view(await insertKey(keystore.groupId, input.id, input.usage ?? ['ENCRYPT', 'DECRYPT'], false, input));
    },

    async list(keystoreName?: string): Promise<KeyView[]> {
      const groupId = keystoreName === undefined ? undefined : (await requireKeystore(keystoreName)).groupId;
      return views(await store.listKeys(groupId));
    },

    async show(externalId: string, keystoreName?: string): Promise<KeyView> {
      return view(await requireKey(externalId, keystoreName));
    },

    /** Takes `{ id, keystore }` (as every lifecycle method, for approvals to replay) or the id and keystore. */
    enable: (key: KeyRef | string, keystoreName?: string) =>
      transition(refOf(key, keystoreName), ['ENABLED', 'DISABLED'], 'enable it', () => ({ status: 'ENABLED' })),
    disable: (key: KeyRef | string, keystoreName?: string) =>
      transition(refOf(key, keystoreName), ['ENABLED', 'DISABLED'], 'disable it', () => ({ status: 'DISABLED' })),

    /** The key's kill switch: every XKS crypto operation answers InvalidStateException until unblocked. */
    async block(input: KeyRef & { reason: string }): Promise<KeyView> {
      const reason = validateReason(input.reason);
      return transition(input, LIVE, 'block it', () => ({ status: 'BLOCKED', blockReason: reason }));
    },

    /** Lifts the key's kill switch; the key is ENABLED again. */
    unblock: (input: KeyRef): Promise<KeyView> =>
      transition(input, ['BLOCKED'], 'unblock it', () => ({ status: 'ENABLED', blockReason: null })),

    /** Destroys the key after `days` (7–30) days unless cancelled; until then it does no crypto. */
    async scheduleDeletion(input: KeyRef & { days: number }): Promise<KeyView> {
      if (!Number.isInteger(input.days) || input.days < MIN_DELETION_DAYS || input.days > MAX_DELETION_DAYS) {
        throw invalid(`the waiting period must be ${MIN_DELETION_DAYS} to ${MAX_DELETION_DAYS} days (got ${input.days})`);
      }
      return transition(input, LIVE, 'schedule its deletion', () => ({
        status: 'PENDING_DELETION',
        deletionDate: clock.now() + input.days * DAY_MS,
        blockReason: null,
      }));
    },

    /** Cancels a scheduled deletion; the key comes back DISABLED (enable it on purpose), as in AWS KMS. */
    cancelDeletion: (input: KeyRef): Promise<KeyView> =>
      transition(input, ['PENDING_DELETION'], 'cancel its deletion', () => ({ status: 'DISABLED', deletionDate: null })),

    /** Rotate every `days` days (the node does it), or `null` for manual rotation only. */
    async setRotationPolicy(input: KeyRef & { days: number | null }): Promise<KeyView> {
      if (input.days !== null && (!Number.isInteger(input.days) || input.days < 1 || input.days > MAX_ROTATION_DAYS)) {
        throw invalid(`the rotation period must be 1 to ${MAX_ROTATION_DAYS} days, or off (got ${input.days})`);
      }
      const days = input.days;
      return transition(input, LIVE, 'change its rotation policy', () =>
        days === null
          ? { rotationPeriodDays: null, nextRotationAt: null }
          : { rotationPeriodDays: days, nextRotationAt: clock.now() + days * DAY_MS },
      );
    },

    /** Creates version n+1 and makes it current: Encrypt uses it from the next request; older versions still decrypt. */
    async rotate(input: KeyRef): Promise<KeyView> {
      const record = await requireKey(input.id, input.keystore);
      if (!LIVE.includes(record.status)) refuse(record, 'rotate it');
      const rotated = await addVersion(record);
      if (!rotated) throw conflict(`key "${record.externalId}" was rotated by someone else meanwhile; look at it again`);
      return view(rotated);
    },

    async listVersions(input: KeyRef): Promise<KeyVersionView[]> {
      const record = await requireKey(input.id, input.keystore);
      return (await store.listKeyVersions(record.id)).map((v) => versionView(record, v));
    },

    /** Ciphertexts of versions older than `version` are refused from the next request (InvalidStateException). */
    async setMinDecryptVersion(input: KeyRef & { version: number }): Promise<KeyView> {
      const record = await requireKey(input.id, input.keystore);
      if (!Number.isInteger(input.version) || input.version < 1 || input.version > record.currentVersion) {
        throw invalid(`the minimum decryption version must be 1 to ${record.currentVersion}, the current version (got ${input.version})`);
      }
      return transition(input, LIVE, 'change its minimum decryption version', () => ({ minDecryptVersion: input.version }));
    },

    /** Stops one old version from decrypting (from the next request). The current version cannot be revoked: rotate first. */
    async revokeVersion(input: KeyRef & { version: number }): Promise<KeyVersionView> {
      const record = await requireKey(input.id, input.keystore);
      if (!LIVE.includes(record.status)) refuse(record, 'revoke a version');
      const version = await requireVersion(record, input.version);
      if (version.version === record.currentVersion)
        throw conflict(`version ${version.version} is the current version of key "${record.externalId}"; rotate first`);
      if (version.state !== 'ENABLED')
        throw conflict(`version ${version.version} of key "${record.externalId}" is already ${version.state.toLowerCase()}`);
      const applied = await store.updateKeyVersion(record.id, version.version, { state: 'REVOKED', revokedAt: clock.now() }, ['ENABLED']);
      if (!applied) throw conflict(`version ${version.version} of key "${record.externalId}" changed while this ran; look at it again`);
      await store.updateKey(record.id, {}, clock.now());
      const fresh = await publish(await reread(record));
      return versionView(fresh, { ...version, state: 'REVOKED', revokedAt: clock.now() });
    },

    /**
     * Erases one old version's material for good: its ciphertexts can never be decrypted again. Only a
     * version already revoked or below the minimum decryption version, so it takes two deliberate steps.
     */
    async destroyVersion(input: KeyRef & { version: number }): Promise<KeyVersionView> {
      const record = await requireKey(input.id, input.keystore);
      if (!LIVE.includes(record.status)) refuse(record, 'destroy a version');
      const version = await requireVersion(record, input.version);
      if (version.version === record.currentVersion)
        throw conflict(`version ${version.version} is the current version of key "${record.externalId}"; rotate first`);
      if (version.state === 'DESTROYED') throw conflict(`version ${version.version} of key "${record.externalId}" is already destroyed`);
      if (version.state !== 'REVOKED' && version.version >= record.minDecryptVersion) {
        throw conflict(
          `version ${version.version} of key "${record.externalId}" still decrypts; revoke it (or raise the minimum decryption version) first`,
        );
      }
      live.putKey({
        record,
        versions: new Map([...(live.key(record.groupId, record.externalId)?.versions ?? [])].filter(([n]) => n !== version.version)),
      });
      await eraseVersion(record, version);
      await store.updateKey(record.id, {}, clock.now());
      const fresh = await publish(await reread(record));
      return versionView(fresh, await requireVersion(fresh, version.version));
    },

    async setTags(input: KeyRef & { set?: Record<string, string>; remove?: string[] }): Promise<KeyView> {
      const record = await requireKey(input.id, input.keystore);
      const tags = { ...record.tags, ...(input.set ?? {}) };
      for (const name of input.remove ?? []) {
        if (!(name in tags)) throw notFound(`key "${record.externalId}" has no tag ${JSON.stringify(name)}`);
        delete tags[name];
      }
      validateTags(tags);
      return transition(input, [...LIVE, 'PENDING_DELETION'], 'change its tags', () => ({ tags }));
    },

    async describe(input: KeyRef & { description: string }): Promise<KeyView> {
      validateDescription(input.description);
      return transition(input, [...LIVE, 'PENDING_DELETION'], 'change its description', () => ({ description: input.description }));
    },

    /** A fresh RSA-3072 public key to wrap key material with (RSA-OAEP-SHA256); valid 24 h, for one import. */
    createImportWrappingKey: (): Promise<WrappingKeyView> => wrappingKeys.create(),

    /**
     * Bring your own key: unwraps `wrappedKey` (base64 RSA-OAEP-SHA256 ciphertext of a 32-byte AES key) and
     * makes it a new key (when `id` does not exist; `keystore` names where) or the next, current version of an
     * existing key.
     */
    async importKey(input: {
      id: string;
      keystore?: string;
      wrappingKeyId: string;
      wrappedKey: string;
      usage?: KeyUsage[];
      description?: string;
      tags?: Record<string, string>;
      /** Refuse unless the import makes a new key, or unless it adds a version to an existing one. */
      into?: 'new-key' | 'new-version';
    }): Promise<KeyView> {
      validateExternalKeyId(input.id);
      if (input.description !== undefined) validateDescription(input.description);
      if (input.tags !== undefined) validateTags(input.tags);
      let existing: KeyRecord | undefined;
      let groupId: string | undefined;
      if (input.keystore !== undefined) {
        groupId = (await requireKeystore(input.keystore)).groupId;
        existing = await store.getKey(groupId, input.id);
        if (existing?.internal) throw conflict(`key "${input.id}" is internal`);
      } else {
        existing = await requireKey(input.id).catch((error: unknown) => {
          if ((error as { kind?: string }).kind === 'not-found')
            throw notFound(`no key "${input.id}"; to import a new key, name its --keystore`);
          throw error;
        });
      }
      if (existing?.status === 'DESTROYED') throw conflict(`key "${input.id}" was destroyed; a key id is never reused`);
      if (existing && input.into === 'new-key') throw conflict(`key "${input.id}" already exists; import into it as a new version instead`);
      if (!existing && input.into === 'new-version') throw notFound(`no key "${input.id}" in keystore "${input.keystore}"`);
      if (existing && !LIVE.includes(existing.status)) refuse(existing, 'import a new version');
      if (existing && (input.usage !== undefined || input.description !== undefined || input.tags !== undefined)) {
        throw invalid(`key "${input.id}" exists, so the import adds a version; usage, description and tags are set on new keys only`);
      }
      const material = await wrappingKeys.unwrap(input.wrappingKeyId, input.wrappedKey);
      try {
        await wrappingKeys.consume(input.wrappingKeyId);
        if (existing) {
          const updated = await addVersion(existing, material);
          if (!updated) throw conflict(`key "${input.id}" was rotated by someone else meanwhile; ask for a new wrapping key and retry`);
          return view(updated);
        }
        return view(await insertKey(groupId!, input.id, input.usage ?? ['ENCRYPT', 'DECRYPT'], false, { ...input, material }));
      } finally {
        material.fill(0);
      }
    },

    /**
     * One pass of the node's own work (rotation-scheduler.ts): rotates ENABLED keys whose rotation is due and
     * destroys keys whose deletion date has passed. Every change is compare-and-set, so nodes of a fleet
     * running it at once rotate or destroy each key once.
     */
    async runDue(): Promise<ScheduledWork> {
      const work: ScheduledWork = { rotated: [], destroyed: [], failed: [] };
      const now = clock.now();
      for (const record of await store.listKeysDue(now)) {
        const group = record.groupId;
        try {
          if (record.status === 'ENABLED') {
            const rotated = await addVersion(record);
            if (rotated) work.rotated.push({ key: record.externalId, group, version: rotated.currentVersion });
          } else if (record.status === 'PENDING_DELETION') {
            const claimed = await store.updateKey(record.id, { status: 'DESTROYED' }, now, {
              status: ['PENDING_DELETION'],
              deletionDueBy: now,
            });
            if (!claimed) continue;
            await eraseAllVersions({ ...record, status: 'DESTROYED', updatedAt: now });
            work.destroyed.push({ key: record.externalId, group });
          } else if (record.status === 'DESTROYED') {
            await eraseAllVersions(record);
          }
        } catch (error) {
          work.failed.push({
            key: record.externalId,
            group,
            action: record.status === 'ENABLED' ? 'rotate' : 'destroy',
            reason: (error as Error).message,
          });
        }
      }
      return work;
    },

    /**
     * The dedicated health-check key, never reachable through XKS.
     *
     *= xks-spec.md#14.7
     *# 61. [SHOULD] Use dedicated test keys for health crypto, never keys tied to KMS keys.
     */
    async ensureCanary(): Promise<DataKey> {
      let group = await keystoreStore.getGroupByName(CANARY_GROUP);
      if (!group) {
        group = { id: newId(), name: CANARY_GROUP, createdAt: clock.now() };
        await keystoreStore.createGroup(group);
      }
      const record =
        (await store.getKey(group.id, CANARY_KEY_ID)) ?? (await insertKey(group.id, CANARY_KEY_ID, ['ENCRYPT', 'DECRYPT'], true));
      const versions = await openVersions(record);
      return versions.get(record.currentVersion)!;
    },

    syncLive,
    loadAll,
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
