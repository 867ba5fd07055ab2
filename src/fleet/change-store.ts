/** One row of the fleet's change sequence (migration 0008_changes): what changed, in commit order. */
export interface ChangeRecord {
  /** Increases with every change, in commit order. */
  id: number;
  /** The kind of entity: key, keystore, group, setting, policy, user, token, approval. */
  kind: string;
  /** The entity's id (a key id, keystore id, setting name…). */
  entityId: string;
  /** When the change was written (epoch ms, the database's clock on PostgreSQL). */
  at: number;
}

/**
 * The change sequence every node follows (docs/fleet.md#propagation). Rows are written by the
 * database's triggers in the same transaction as each change; nodes only read them.
 * createChangeStore (sql-change-store.ts) implements it.
 */
export interface ChangeStore {
  /** The newest change id (0 when nothing was ever recorded). */
  latestId(): Promise<number>;
  /** Changes with an id above `afterId`, oldest first, at most `limit`. */
  changesAfter(afterId: number, limit: number): Promise<ChangeRecord[]>;
  /** Deletes changes older than `before` (epoch ms) except the newest one, so the sequence never restarts. */
  prune(before: number): Promise<number>;
}
