/**
 * The database schema as Kysely sees it, and the one place where rows become domain records
 * and back, for the tables no feature store owns yet (keys: src/keys/key-rows.ts). Column names are
 * snake_case; timestamps are epoch milliseconds.
 */
import type { AdminToken, Group, Keystore, KeystoreStatus, NodeRecord, StoredCredential } from '../domain/types.js';

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

export interface AdminTokenRow {
  id: string;
  name: string;
  token_hash: Buffer;
  created_at: number;
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
  admin_tokens: AdminTokenRow;
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

export const adminTokenRow = (t: AdminToken): AdminTokenRow => ({
  id: t.id,
  name: t.name,
  token_hash: t.tokenHash,
  created_at: t.createdAt,
});
export const toAdminToken = (r: AdminTokenRow): AdminToken => ({
  id: r.id,
  name: r.name,
  tokenHash: r.token_hash,
  createdAt: r.created_at,
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
