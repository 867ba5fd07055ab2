import { sql, type Kysely } from 'kysely';
import type { DatabaseConnection } from '../storage/connection.js';

/**
 * Which tables a backup carries. The list is read from the database's own schema (after migrations ran),
 * so a table or column added by a later migration is backed up without a change here; only the tables
 * that must NOT travel are named, each with its reason.
 */
export const EXCLUDED_TABLES: Readonly<Record<string, string>> = {
  // Fleet membership heartbeats: which processes are alive on which host right now. A restored node
  // announces itself when it starts; old rows would show dead nodes as members for a while.
  nodes: 'node-local liveness (fleet heartbeats); a restored node re-announces itself',
  // The fleet's change sequence (docs/fleet.md#propagation): triggers write a row for every change to the
  // other tables, so restoring those tables writes the target's own sequence; copied rows would collide
  // with it and would only tell nodes of the source database what to reload.
  changes: "the fleet's change sequence: the target's triggers write their own while the tables are restored",
  // Kysely's migration bookkeeping: the target database has its own, written when it was opened.
  kysely_migration: "the target's own migration record (the schema is created by opening it)",
  kysely_migration_lock: "the target's own migration lock",
};

/** The audit tables: only heads and signed checkpoints travel unless the full log is asked for. */
export const AUDIT_TABLES = ['audit_chains', 'audit_checkpoints', 'audit_events'] as const;

export interface TableShape {
  name: string;
  columns: string[];
}

/** The tables to back up, with their columns, from the live schema, in an order inserts can follow (parents first). */
export async function backupTables(connection: DatabaseConnection): Promise<TableShape[]> {
  const db = connection.tables<unknown>();
  const tables = await db.introspection.getTables();
  const shapes = tables
    .filter((t) => !t.isView && !(t.name in EXCLUDED_TABLES))
    // PostgreSQL: only the schema Keyhold's connection works in (the search path's first, normally public).
    .filter((t) => connection.dialect === 'sqlite' || t.schema === undefined || t.schema === 'public')
    .map((t) => ({ name: t.name, columns: t.columns.map((c) => c.name) }));
  const parents = await foreignKeyParents(
    db,
    connection.dialect,
    shapes.map((s) => s.name),
  );
  return insertOrder(shapes, parents);
}

/** For each table, the tables its foreign keys point at. */
async function foreignKeyParents(db: Kysely<unknown>, dialect: DatabaseConnection['dialect'], names: string[]) {
  const parents = new Map<string, Set<string>>(names.map((n) => [n, new Set<string>()]));
  if (dialect === 'sqlite') {
    for (const name of names) {
      const { rows } = await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${name})`.execute(db);
      for (const row of rows) parents.get(name)?.add(row.table);
    }
  } else {
    const { rows } = await sql<{ child: string; parent: string }>`
      select tc.table_name as child, ccu.table_name as parent
      from information_schema.table_constraints tc
      join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name and ccu.table_schema = tc.table_schema
      where tc.constraint_type = 'FOREIGN KEY' and tc.table_schema = 'public'`.execute(db);
    for (const row of rows) if (row.child !== row.parent) parents.get(row.child)?.add(row.parent);
  }
  return parents;
}

/** Parents before children (a topological sort; names break ties so the order is stable). */
function insertOrder(shapes: TableShape[], parents: Map<string, Set<string>>): TableShape[] {
  const byName = new Map(shapes.map((s) => [s.name, s]));
  const done = new Set<string>();
  const ordered: TableShape[] = [];
  const visit = (name: string, path: Set<string>) => {
    if (done.has(name) || path.has(name) || !byName.has(name)) return;
    path.add(name);
    for (const parent of [...(parents.get(name) ?? [])].sort()) visit(parent, path);
    done.add(name);
    const shape = byName.get(name);
    if (shape) ordered.push(shape);
  };
  for (const name of [...byName.keys()].sort()) visit(name, new Set());
  return ordered;
}
