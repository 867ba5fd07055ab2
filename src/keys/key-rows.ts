/**
 * The keys feature's tables as Kysely sees them (created by migrations 0001, 0002, 0007 and 0008 in
 * src/storage/migrations/), and the one place their rows become records and back. Column names are
 * snake_case; timestamps are epoch milliseconds.
 */
import type { KeyRecord, KeyStatus, KeyUsage, KeyVersionOrigin, KeyVersionState, StoredKeyVersion } from '../domain/types.js';
import type { StoredWrappingKey } from './key-store.js';

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

export const toKey = (r: KeyRow): KeyRecord => ({
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
