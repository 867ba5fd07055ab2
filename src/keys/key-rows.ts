/**
 * The keys feature's tables as Kysely sees them (created by migrations 0001, 0002, 0007 and 0008 in
 * src/storage/migrations/), and the one place their rows become records and back. Column names are
 * snake_case; timestamps are epoch milliseconds.
 */
import type { KeyRecord, KeyStatus, KeyUsage, KeyVersionOrigin, KeyVersionState, StoredKeyVersion } from '../domain/types.js';
import { RowValues } from '../storage/row-values.js';
import type { StoredWrappingKey } from './key-store.js';
import { KEY_STATUSES } from './key-search.js';

export interface KeyRow {
  id: string;
  group_id: string;
  external_id: string;
  /** Comma-joined KeyUsage list, e.g. `ENCRYPT,DECRYPT`. */
  usage: string;
  status: KeyStatus;
  /** 0 or 1: an integer on both dialects, so reads, writes and filters need no per-dialect code. */
  internal: number;
  current_version: number;
  block_reason: string | null;
  deletion_date: number | null;
  description: string;
  /** JSON object of string → string. */
  tags: string;
  rotation_period_days: number | null;
  next_rotation_at: number | null;
  min_decrypt_version: number;
  created_at: number;
  updated_at: number;
  /** What GET /api/v1/keys?search= matches: searchText() of the external id, description and tag values. */
  search_text: string;
}

export interface KeyVersionRow {
  key_id: string;
  version: number;
  sealed_material: Buffer;
  state: KeyVersionState;
  origin: KeyVersionOrigin;
  created_at: number;
  revoked_at: number | null;
  destroyed_at: number | null;
}

export interface WrappingKeyRow {
  id: string;
  public_key_pem: string;
  sealed_private_key: Buffer;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** The tables the key store reaches through `connection.tables<KeyTables>()`. */
export interface KeyTables {
  keys: KeyRow;
  key_versions: KeyVersionRow;
  import_wrapping_keys: WrappingKeyRow;
}

export const joinUsage = (usage: readonly KeyUsage[]): string => usage.join(',');

const isKeyUsage = (value: string): value is KeyUsage => value === 'ENCRYPT' || value === 'DECRYPT';

/** Only this module writes these columns; a value it could not have written means the row was changed by hand. */
function corrupt(keyId: string, column: string): Error {
  return new Error(`key ${keyId}: the stored ${column} is not one Keyhold writes; the row was changed outside Keyhold`);
}

function splitUsage(keyId: string, usage: string): KeyUsage[] {
  if (usage === '') return [];
  return usage.split(',').map((value) => {
    if (!isKeyUsage(value)) throw corrupt(keyId, 'usage');
    return value;
  });
}

function parseTags(keyId: string, text: string): Record<string, string> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw corrupt(keyId, 'tags');
  const tags: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') throw corrupt(keyId, 'tags');
    tags[name] = value;
  }
  return tags;
}

/**
 * The text a key search matches a substring of: the external id, the description and every tag value,
 * lower-cased (in JavaScript, so both dialects compare the same Unicode lower case) and separated by a
 * line feed, which none of them may contain (attributes.ts), so no match spans two of them.
 * Migration 0008 computed it the same way for the keys that existed then.
 */
export function searchText(key: Pick<KeyRecord, 'externalId' | 'description' | 'tags'>): string {
  return [key.externalId, key.description, ...Object.values(key.tags)].join('\n').toLowerCase();
}

export const keyRow = (k: KeyRecord): KeyRow => ({
  id: k.id,
  group_id: k.groupId,
  external_id: k.externalId,
  usage: joinUsage(k.usage),
  status: k.status,
  internal: k.internal ? 1 : 0,
  current_version: k.currentVersion,
  block_reason: k.blockReason ?? null,
  deletion_date: k.deletionDate ?? null,
  description: k.description,
  tags: JSON.stringify(k.tags),
  rotation_period_days: k.rotationPeriodDays ?? null,
  next_rotation_at: k.nextRotationAt ?? null,
  min_decrypt_version: k.minDecryptVersion,
  created_at: k.createdAt,
  updated_at: k.updatedAt,
  search_text: searchText(k),
});

/** Every column of `keys` a KeyRecord is made of (all but the search column, which only management reads). */
export const LIVE_KEY_COLUMNS = [
  'id',
  'group_id',
  'external_id',
  'usage',
  'status',
  'internal',
  'current_version',
  'block_reason',
  'deletion_date',
  'description',
  'tags',
  'rotation_period_days',
  'next_rotation_at',
  'min_decrypt_version',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof KeyRow)[];

export const toKey = (r: Pick<KeyRow, (typeof LIVE_KEY_COLUMNS)[number]>): KeyRecord => ({
  id: r.id,
  groupId: r.group_id,
  externalId: r.external_id,
  usage: splitUsage(r.id, r.usage),
  status: r.status,
  internal: r.internal === 1,
  currentVersion: r.current_version,
  ...(r.block_reason === null ? {} : { blockReason: r.block_reason }),
  ...(r.deletion_date === null ? {} : { deletionDate: Number(r.deletion_date) }),
  description: r.description,
  tags: parseTags(r.id, r.tags),
  ...(r.rotation_period_days === null ? {} : { rotationPeriodDays: r.rotation_period_days }),
  ...(r.next_rotation_at === null ? {} : { nextRotationAt: Number(r.next_rotation_at) }),
  minDecryptVersion: r.min_decrypt_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** A key read as LIVE_KEY_COLUMNS values (DatabaseConnection.rowArrays: node start reads every key so). */
export function keyFromValues(values: readonly unknown[]): KeyRecord {
  const v = new RowValues(values, (column) => corrupt(String(values[0]), LIVE_KEY_COLUMNS[column] ?? `column ${column}`));
  return toKey({
    id: v.text(0),
    group_id: v.text(1),
    external_id: v.text(2),
    usage: v.text(3),
    status: v.oneOf(4, KEY_STATUSES),
    internal: v.integer(5),
    current_version: v.integer(6),
    block_reason: v.nullableText(7),
    deletion_date: v.nullableInteger(8),
    description: v.text(9),
    tags: v.text(10),
    rotation_period_days: v.nullableInteger(11),
    next_rotation_at: v.nullableInteger(12),
    min_decrypt_version: v.integer(13),
    created_at: v.integer(14),
    updated_at: v.integer(15),
  });
}

/** Every column of `key_versions`, in the order versionFromValues reads them. */
export const KEY_VERSION_COLUMNS = [
  'key_id',
  'version',
  'sealed_material',
  'state',
  'origin',
  'created_at',
  'revoked_at',
  'destroyed_at',
] as const satisfies readonly (keyof KeyVersionRow)[];

const VERSION_STATES: readonly KeyVersionState[] = ['ENABLED', 'REVOKED', 'DESTROYED'];
const VERSION_ORIGINS: readonly KeyVersionOrigin[] = ['GENERATED', 'IMPORTED'];

/** A key version read as KEY_VERSION_COLUMNS values (rowArrays). */
export function versionFromValues(values: readonly unknown[]): StoredKeyVersion {
  const v = new RowValues(values, (column) => corrupt(String(values[0]), KEY_VERSION_COLUMNS[column] ?? `column ${column}`));
  return toKeyVersion({
    key_id: v.text(0),
    version: v.integer(1),
    sealed_material: v.bytes(2),
    state: v.oneOf(3, VERSION_STATES),
    origin: v.oneOf(4, VERSION_ORIGINS),
    created_at: v.integer(5),
    revoked_at: v.nullableInteger(6),
    destroyed_at: v.nullableInteger(7),
  });
}

export const keyVersionRow = (v: StoredKeyVersion): KeyVersionRow => ({
  key_id: v.keyId,
  version: v.version,
  sealed_material: v.sealedMaterial,
  state: v.state,
  origin: v.origin,
  created_at: v.createdAt,
  revoked_at: v.revokedAt ?? null,
  destroyed_at: v.destroyedAt ?? null,
});

export const toKeyVersion = (r: KeyVersionRow): StoredKeyVersion => ({
  keyId: r.key_id,
  version: r.version,
  sealedMaterial: r.sealed_material,
  state: r.state,
  origin: r.origin,
  createdAt: r.created_at,
  ...(r.revoked_at === null ? {} : { revokedAt: Number(r.revoked_at) }),
  ...(r.destroyed_at === null ? {} : { destroyedAt: Number(r.destroyed_at) }),
});

export const wrappingKeyRow = (w: StoredWrappingKey): WrappingKeyRow => ({
  id: w.id,
  public_key_pem: w.publicKeyPem,
  sealed_private_key: w.sealedPrivateKey,
  created_at: w.createdAt,
  expires_at: w.expiresAt,
  used_at: w.usedAt ?? null,
});

export const toWrappingKey = (r: WrappingKeyRow): StoredWrappingKey => ({
  id: r.id,
  publicKeyPem: r.public_key_pem,
  sealedPrivateKey: r.sealed_private_key,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  ...(r.used_at === null ? {} : { usedAt: Number(r.used_at) }),
});
