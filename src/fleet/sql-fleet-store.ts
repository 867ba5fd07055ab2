import type { DatabaseConnection } from '../storage/connection.js';
import type { FleetStore, NodeRecord } from './fleet-store.js';

/** The `nodes` table (migration 0001_initial). */
export interface NodeRow {
  id: string;
  hostname: string;
  started_at: number;
  last_seen_at: number;
}

export interface FleetTables {
  nodes: NodeRow;
}

const nodeRow = (n: NodeRecord): NodeRow => ({
  id: n.id,
  hostname: n.hostname,
  started_at: n.startedAt,
  last_seen_at: n.lastSeenAt,
});

const toNode = (r: NodeRow): NodeRecord => ({
  id: r.id,
  hostname: r.hostname,
  startedAt: r.started_at,
  lastSeenAt: r.last_seen_at,
});

/** The fleet store on an open database (SQLite or PostgreSQL). */
export function createFleetStore(connection: DatabaseConnection): FleetStore {
  const db = connection.tables<FleetTables>();
  return {
    async heartbeat(node) {
      const row = nodeRow(node);
      await db
        .insertInto('nodes')
        .values(row)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            hostname: row.hostname,
            started_at: row.started_at,
            last_seen_at: row.last_seen_at,
          }),
        )
        .execute();
    },

    async listNodesSeenSince(since) {
      const rows = await db.selectFrom('nodes').selectAll().where('last_seen_at', '>=', since).orderBy('id').execute();
      return rows.map(toNode);
    },
  };
}
