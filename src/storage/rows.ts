/**
 * The tables the shared Store still queries, as Kysely sees them, and where their rows become domain
 * records and back (each feature store keeps its own rows: src/keystores/keystore-rows.ts…).
 * Column names are snake_case; timestamps are epoch milliseconds.
 */
import type { KeyRecord, KeyStatus, KeyUsage, KeyVersionOrigin, KeyVersionState, StoredKeyVersion } from '../domain/types.js';

export type { SqlDialect } from './connection.js';

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

export interface Database {
  keys: KeyRow;
  key_versions: KeyVersionRow;
}

export const joinUsage = (usage: readonly KeyUsage[]): string => usage.join(',');
const splitUsage = (usage: string): KeyUsage[] => (usage === '' ? [] : (usage.split(',') as KeyUsage[]));

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
});
export const toKey = (r: KeyRow): KeyRecord => ({
  id: r.id,
  groupId: r.group_id,
  externalId: r.external_id,
  usage: splitUsage(r.usage),
  status: r.status,
  internal: r.internal === 1,
  currentVersion: r.current_version,
  ...(r.block_reason === null ? {} : { blockReason: r.block_reason }),
  ...(r.deletion_date === null ? {} : { deletionDate: Number(r.deletion_date) }),
  description: r.description,
  tags: JSON.parse(r.tags) as Record<string, string>,
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

