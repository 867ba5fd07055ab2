/**
 * The database schema as Kysely sees it, and the one place where rows become domain records
 * and back. Column names are snake_case; timestamps are epoch milliseconds.
 */
import type {
  Group,
  KeyRecord,
  Keystore,
  KeyStatus,
  KeystoreStatus,
  KeyUsage,
  KeyVersionOrigin,
  KeyVersionState,
  NodeRecord,
  StoredCredential,
  StoredKeyVersion,
} from '../domain/types.js';

export type { SqlDialect } from './connection.js';

export interface GroupRow {
  id: string;
  name: string;
  created_at: number;
}

export interface KeystoreRow {
  id: string;
  name: string;
  prefix: string;
  region: string;
  group_id: string;
  status: KeystoreStatus;
  block_reason: string | null;
  /** Both null, or both set: the keystore's request quota. */
  quota_rps: number | null;
  quota_burst: number | null;
  created_at: number;
}

export interface CredentialRow {
  access_key_id: string;
  keystore_id: string;
  sealed_secret: Buffer;
  created_at: number;
}

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

export interface NodeRow {
  id: string;
  hostname: string;
  started_at: number;
  last_seen_at: number;
}

export interface Database {
  groups: GroupRow;
  keystores: KeystoreRow;
  credentials: CredentialRow;
  keys: KeyRow;
  key_versions: KeyVersionRow;
  nodes: NodeRow;
}

export const groupRow = (g: Group): GroupRow => ({ id: g.id, name: g.name, created_at: g.createdAt });
export const toGroup = (r: GroupRow): Group => ({ id: r.id, name: r.name, createdAt: r.created_at });

export const keystoreRow = (k: Keystore): KeystoreRow => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  region: k.region,
  group_id: k.groupId,
  status: k.status,
  block_reason: k.blockReason ?? null,
  quota_rps: k.quota?.rps ?? null,
  quota_burst: k.quota?.burst ?? null,
  created_at: k.createdAt,
});
export const toKeystore = (r: KeystoreRow): Keystore => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  region: r.region,
  groupId: r.group_id,
  status: r.status,
  ...(r.block_reason === null ? {} : { blockReason: r.block_reason }),
  ...(r.quota_rps === null || r.quota_burst === null ? {} : { quota: { rps: Number(r.quota_rps), burst: Number(r.quota_burst) } }),
  createdAt: r.created_at,
});

export const credentialRow = (c: StoredCredential): CredentialRow => ({
  access_key_id: c.accessKeyId,
  keystore_id: c.keystoreId,
  sealed_secret: c.sealedSecret,
  created_at: c.createdAt,
});
export const toCredential = (r: CredentialRow): StoredCredential => ({
  accessKeyId: r.access_key_id,
  keystoreId: r.keystore_id,
  sealedSecret: r.sealed_secret,
  createdAt: r.created_at,
});

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

export const nodeRow = (n: NodeRecord): NodeRow => ({
  id: n.id,
  hostname: n.hostname,
  started_at: n.startedAt,
  last_seen_at: n.lastSeenAt,
});
export const toNode = (r: NodeRow): NodeRecord => ({
  id: r.id,
  hostname: r.hostname,
  startedAt: r.started_at,
  lastSeenAt: r.last_seen_at,
});
