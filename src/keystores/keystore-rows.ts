/**
 * The keystores' tables (migrations 0001_initial and 0006_keystore_quotas) as Kysely sees them, and
 * where their rows become domain records and back. Timestamps are epoch milliseconds.
 */
import type { Group, Keystore, KeystoreStatus, StoredCredential } from '../domain/types.js';

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

export interface KeystoreTables {
  groups: GroupRow;
  keystores: KeystoreRow;
  credentials: CredentialRow;
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
