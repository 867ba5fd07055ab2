import type { DatabaseConnection } from '../storage/connection.js';
import type { FleetStore, NodeRecord, NodeReport } from './fleet-store.js';

/** The `nodes` table (migrations 0001_initial, 0009_node_status). */
export interface NodeRow {
  id: string;
  hostname: string;
  started_at: number;
  last_seen_at: number;
  address: string | null;
  version: string | null;
  /** JSON of a NodeReport. */
  status: string | null;
}

export interface FleetTables {
  nodes: NodeRow;
}

const nodeRow = (n: NodeRecord): NodeRow => ({
  id: n.id,
  hostname: n.hostname,
  started_at: n.startedAt,
  last_seen_at: n.lastSeenAt,
  address: n.address ?? null,
  version: n.version ?? null,
  status: n.report ? JSON.stringify(n.report) : null,
});

/** A report as stored; one that does not parse (written by hand, or truncated) is left out rather than trusted. */
function parseReport(text: string | null): NodeReport | undefined {
  if (text === null) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as NodeReport) : undefined;
  } catch {
    return undefined;
  }
}

const toNode = (r: NodeRow): NodeRecord => ({
  id: r.id,
  hostname: r.hostname,
  startedAt: Number(r.started_at),
  lastSeenAt: Number(r.last_seen_at),
  ...(r.address === null ? {} : { address: r.address }),
  ...(r.version === null ? {} : { version: r.version }),
  ...(r.status === null ? {} : { report: parseReport(r.status) }),
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
            address: row.address,
            version: row.version,
            status: row.status,
          }),
        )
        .execute();
    },

    async listNodesSeenSince(since) {
      const rows = await db.selectFrom('nodes').selectAll().where('last_seen_at', '>=', since).orderBy('id').execute();
      return rows.map(toNode);
    },

    async listNodes() {
      return (await db.selectFrom('nodes').selectAll().orderBy('id').execute()).map(toNode);
    },

    async removeNode(id) {
      const result = await db.deleteFrom('nodes').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
