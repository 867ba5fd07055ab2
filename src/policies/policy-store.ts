import type { Effect, PolicyMode, PolicyRule } from './document.js';
import type { AttachmentKind } from './evaluator.js';

/** A policy as stored: its document, and where it applies (by internal id). */
export interface StoredPolicy {
  id: string;
  name: string;
  description: string;
  mode: PolicyMode;
  /** Both set, or both absent (attached to nothing: it applies nowhere). */
  attachKind?: AttachmentKind;
  attachId?: string;
  rules: PolicyRule[];
  createdAt: number;
  updatedAt: number;
}

/** What a group decides when no rule matches. */
export interface GroupDefault {
  groupId: string;
  effect: Effect;
  updatedAt: number;
}

/**
 * Policies and group defaults in the node's database (SQLite or PostgreSQL); one implementation,
 * sql-policy-store.ts. Every method is one statement. A duplicate name throws StoreConflictError; a
 * missing policy or group StoreNotFoundError.
 */
export interface PolicyStore {
  create(policy: StoredPolicy): Promise<void>;
  /** Replaces a policy's document and attachment (by id). */
  update(policy: StoredPolicy): Promise<void>;
  remove(id: string): Promise<void>;
  getByName(name: string): Promise<StoredPolicy | undefined>;
  /** Every policy, by name. */
  list(): Promise<StoredPolicy[]>;
  /** Sets a group's default effect (insert or replace). */
  setGroupDefault(groupId: string, effect: Effect, updatedAt: number): Promise<void>;
  listGroupDefaults(): Promise<GroupDefault[]>;
}
