import type { DatabaseConnection } from '../storage/connection.js';
import type { ChangeRecord, ChangeStore } from './change-store.js';

/** The `changes` table (migration 0008_changes). */
interface ChangeRow {
  id: number;
  kind: string;
  entity_id: string;
  at: number;
}

interface ChangeTables {
  changes: ChangeRow;
}

const toChange = (r: ChangeRow): ChangeRecord => ({ id: Number(r.id), kind: r.kind, entityId: r.entity_id, at: Number(r.at) });

/** The change sequence on an open database (SQLite or PostgreSQL). */
export function createChangeStore(connection: DatabaseConnection): ChangeStore {
  const db = connection.tables<ChangeTables>();
  return {
    async latestId() {
      const row = await db
        .selectFrom('changes')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirst();
      return Number(row?.id ?? 0);
    },

    async changesAfter(afterId, limit) {
      const rows = await db.selectFrom('changes').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
      return rows.map(toChange);
    },

    async prune(before) {
      const newest = await this.latestId();
      const result = await db.deleteFrom('changes').where('at', '<', before).where('id', '<', newest).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
