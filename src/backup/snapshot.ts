import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { DatabaseConnection } from '../storage/connection.js';
import type { TableRows } from './content.js';
import { backupTables, type TableShape } from './tables.js';

/** One table's rows as arrays of values in `columns` order: what a snapshot reads (half the memory of objects). */
export interface TableValues {
  name: string;
  columns: string[];
  rows: unknown[][];
}

/**
 * Reads every table to back up inside one read transaction, so the snapshot is consistent while the node
 * keeps serving: PostgreSQL REPEATABLE READ (one snapshot for every query of the transaction), SQLite a read
 * transaction on this process's own connection (WAL mode: readers see the database as of their first
 * read and never block the node's writers). The transaction is kept as short as it can be: on SQLite the
 * rows come as arrays (the driver's raw mode, about twice as fast as an object per row at 100,000 keys),
 * because while it is open the serving node's write-ahead log cannot be reset and grows (docs/backup.md#pacing).
 *
 * Without `withAudit`, each audit chain travels from its latest signed checkpoint on: the chain row (its
 * anchor moved to that checkpoint, as retention does), that checkpoint, and the events after it, so the
 * restored chain still verifies (`keyhold audit verify`) and the node continues it.
 */
export async function takeSnapshot(connection: DatabaseConnection, options: { withAudit: boolean }): Promise<TableValues[]> {
  const shapes = await backupTables(connection);
  const db = connection.tables<unknown>();
  let builder = db.transaction();
  if (connection.dialect === 'postgres') builder = builder.setIsolationLevel('repeatable read').setAccessMode('read only');
  return builder.execute(async (trx) => {
    const cuts = options.withAudit ? undefined : await auditCuts(trx);
    const read = valuesReader(connection, trx);
    const out: TableValues[] = [];
    for (const shape of shapes) out.push({ name: shape.name, columns: shape.columns, rows: await readTable(read, shape, cuts) });
    return out;
  });
}

/** The tables with each row as an object named by its columns (what restore writes; migrate copies them). */
export function asRowObjects(tables: readonly TableValues[]): TableRows[] {
  return tables.map((table) => ({
    name: table.name,
    columns: table.columns,
    rows: table.rows.map((values) => Object.fromEntries(table.columns.map((column, i) => [column, values[i]]))),
  }));
}

/** Per chain: the latest signed checkpoint at or after its anchor (where the trimmed chain starts). */
type AuditCuts = Map<string, { seq: number; hash: string } | undefined>;

async function auditCuts(trx: Transaction<unknown>): Promise<AuditCuts> {
  const { rows: chains } = await sql<{ chain_id: string; anchor_seq: number }>`select chain_id, anchor_seq from audit_chains`.execute(trx);
  const cuts: AuditCuts = new Map();
  for (const chain of chains) {
    const { rows } = await sql<{ seq: number; hash: string }>`
      select seq, hash from audit_checkpoints where chain_id = ${chain.chain_id} and seq >= ${chain.anchor_seq}
      order by seq desc limit 1`.execute(trx);
    const latest = rows[0];
    cuts.set(chain.chain_id, latest && { seq: Number(latest.seq), hash: latest.hash });
  }
  return cuts;
}

/** Runs `select <the shape's columns> from <table> [where …]` in the snapshot's transaction; rows as value arrays. */
type ValuesReader = (shape: TableShape, where?: RawBuilder<unknown>) => Promise<unknown[][]>;

function valuesReader(connection: DatabaseConnection, trx: Transaction<unknown>): ValuesReader {
  const query = (shape: TableShape, where: RawBuilder<unknown> | undefined) =>
    sql`select ${sql.join(shape.columns.map((column) => sql.ref(column)))} from ${sql.table(shape.name)} where ${where ?? sql`1 = 1`}`;
  if (connection.dialect === 'sqlite') {
    // SQLite's connection is one: the driver's raw reader runs inside the transaction begun on it.
    return (shape, where) => {
      const compiled = query(shape, where).compile(trx);
      return connection.rowArrays({ compile: () => compiled });
    };
  }
  // PostgreSQL's raw reader takes a connection of its own from the pool, outside this transaction's snapshot.
  return async (shape, where) => {
    const { rows } = await query(shape, where).execute(trx);
    return (rows as Record<string, unknown>[]).map((row) => shape.columns.map((column) => row[column]));
  };
}

async function readTable(read: ValuesReader, shape: TableShape, cuts: AuditCuts | undefined): Promise<unknown[][]> {
  if (!cuts || !['audit_chains', 'audit_checkpoints', 'audit_events'].includes(shape.name)) return read(shape);
  if (shape.name === 'audit_chains') {
    const chainId = shape.columns.indexOf('chain_id');
    const anchorSeq = shape.columns.indexOf('anchor_seq');
    const anchorHash = shape.columns.indexOf('anchor_hash');
    return (await read(shape)).map((values) => {
      const cut = cuts.get(String(values[chainId]));
      if (!cut) return values;
      const moved = [...values];
      moved[anchorSeq] = cut.seq;
      moved[anchorHash] = cut.hash;
      return moved;
    });
  }
  const rows: unknown[][] = [];
  const op = shape.name === 'audit_events' ? sql.raw('>') : sql.raw('>=');
  for (const [chain, cut] of cuts) {
    const from = cut?.seq ?? 0;
    for (const values of await read(shape, sql`chain_id = ${chain} and seq ${op} ${from}`)) rows.push(values);
  }
  // Events of chains whose signing key was never stored (no chain row, no checkpoints): all of them.
  const known = [...cuts.keys()];
  for (const values of await read(shape, known.length === 0 ? undefined : sql`chain_id not in (${sql.join(known)})`)) rows.push(values);
  return rows;
}
