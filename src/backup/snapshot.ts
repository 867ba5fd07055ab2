import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { DatabaseConnection } from '../storage/connection.js';
import type { TableRows } from './content.js';
import { unpaced, type Pacer } from './pacer.js';
import { backupTables, type TableShape } from './tables.js';

/** One table's rows as arrays of values in `columns` order. */
export interface TableValues {
  name: string;
  columns: string[];
  rows: unknown[][];
}

/** Receives a snapshot as it is read: a table at a time, its rows a page at a time, as arrays in `columns` order. */
export interface SnapshotSink {
  beginTable(name: string, columns: string[]): void;
  addRows(rows: readonly (readonly unknown[])[]): void;
  endTable(): void;
}

/** Rows read at a time; the pacer pauses between pages (a page of keys is a few milliseconds of work). */
export const SNAPSHOT_PAGE_ROWS = 1_000;

/**
 * Reads every table to back up inside one read transaction, so the snapshot is consistent while the node
 * keeps serving: PostgreSQL REPEATABLE READ (one snapshot for every query of the transaction), SQLite a read
 * transaction on this process's own connection (WAL mode: readers see the database as of their first read and
 * never block the node's writers). Rows go to `sink` a page at a time, with the pacer's pause after each page.
 * Pace only where a long transaction costs the node nothing: PostgreSQL, or a private in-memory copy of a SQLite
 * database (DatabaseConnection.inMemoryCopy); a SQLite read transaction held open on the live database keeps the
 * node's write-ahead log from being reset (docs/backup.md#pacing).
 *
 * Without `withAudit`, each audit chain travels from its latest signed checkpoint on: the chain row (its
 * anchor moved to that checkpoint, as retention does), that checkpoint, and the events after it, so the
 * restored chain still verifies (`keyhold audit verify`) and the node continues it.
 */
export async function readSnapshot(
  connection: DatabaseConnection,
  options: { withAudit: boolean; sink: SnapshotSink; pacer: Pacer },
): Promise<void> {
  const shapes = await backupTables(connection);
  const db = connection.tables<unknown>();
  let builder = db.transaction();
  if (connection.dialect === 'postgres') builder = builder.setIsolationLevel('repeatable read').setAccessMode('read only');
  await builder.execute(async (trx) => {
    const cuts = options.withAudit ? undefined : await auditCuts(trx);
    const pages = pageReader(connection, trx);
    for (const shape of shapes) {
      options.sink.beginTable(shape.name, shape.columns);
      for (const query of tableQueries(shape, cuts)) {
        for await (const page of pages(shape, query.where)) {
          options.sink.addRows(query.adjust ? page.map(query.adjust) : page);
          await options.pacer.pause();
        }
      }
      options.sink.endTable();
    }
  });
}

/** The whole snapshot in memory, unpaced, each row an object named by its columns (migrate copies it whole). */
export async function takeSnapshot(connection: DatabaseConnection, options: { withAudit: boolean; clock: Clock }): Promise<TableRows[]> {
  const tables: TableValues[] = [];
  const sink: SnapshotSink = {
    beginTable: (name, columns) => tables.push({ name, columns, rows: [] }),
    addRows: (rows) => {
      const table = tables[tables.length - 1];
      for (const row of rows) table?.rows.push([...row]);
    },
    endTable: () => undefined,
  };
  await readSnapshot(connection, { withAudit: options.withAudit, sink, pacer: unpaced(options.clock) });
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

/** One read of a table: its rows matching `where` (all without), each changed by `adjust` if given. */
interface TableQuery {
  where?: RawBuilder<unknown>;
  adjust?: (values: unknown[]) => unknown[];
}

/** What to read of a table: all of it, or for the audit tables without the full log, each chain from its cut on. */
function tableQueries(shape: TableShape, cuts: AuditCuts | undefined): TableQuery[] {
  if (!cuts || !['audit_chains', 'audit_checkpoints', 'audit_events'].includes(shape.name)) return [{}];
  if (shape.name === 'audit_chains') {
    const chainId = shape.columns.indexOf('chain_id');
    const anchorSeq = shape.columns.indexOf('anchor_seq');
    const anchorHash = shape.columns.indexOf('anchor_hash');
    const adjust = (values: unknown[]) => {
      const cut = cuts.get(String(values[chainId]));
      if (!cut) return values;
      const moved = [...values];
      moved[anchorSeq] = cut.seq;
      moved[anchorHash] = cut.hash;
      return moved;
    };
    return [{ adjust }];
  }
  const op = shape.name === 'audit_events' ? sql.raw('>') : sql.raw('>=');
  const queries: TableQuery[] = [...cuts].map(([chain, cut]) => ({ where: sql`chain_id = ${chain} and seq ${op} ${cut?.seq ?? 0}` }));
  // Events of chains whose signing key was never stored (no chain row, no checkpoints): all of them.
  const known = [...cuts.keys()];
  queries.push(known.length === 0 ? {} : { where: sql`chain_id not in (${sql.join(known)})` });
  return queries;
}

/** Reads a table's rows (matching `where`) a page at a time inside the snapshot's transaction, as value arrays. */
type PageReader = (shape: TableShape, where: RawBuilder<unknown> | undefined) => AsyncGenerator<unknown[][]>;

function pageReader(connection: DatabaseConnection, trx: Transaction<unknown>): PageReader {
  const columns = (shape: TableShape) => sql.join(shape.columns.map((column) => sql.ref(column)));
  if (connection.dialect === 'sqlite') {
    // Pages in rowid order (every Keyhold table has one), each after the last rowid read, through the driver's
    // raw mode: SQLite's connection is one, so its raw reader runs inside the transaction begun on it.
    return async function* (shape, where) {
      let after = Number.MIN_SAFE_INTEGER;
      for (;;) {
        const query = sql`select ${columns(shape)}, rowid from ${sql.table(shape.name)}
          where (${where ?? sql`1 = 1`}) and rowid > ${after} order by rowid limit ${SNAPSHOT_PAGE_ROWS}`.compile(trx);
        const rows = await connection.rowArrays({ compile: () => query });
        for (const values of rows) after = Number(values.pop());
        if (rows.length > 0) yield rows;
        if (rows.length < SNAPSHOT_PAGE_ROWS) return;
      }
    };
  }
  // PostgreSQL: a cursor in the transaction (its REPEATABLE READ snapshot), fetched a page at a time.
  return async function* (shape, where) {
    await sql`declare keyhold_backup_page no scroll cursor for
      select ${columns(shape)} from ${sql.table(shape.name)} where ${where ?? sql`true`}`.execute(trx);
    try {
      for (;;) {
        const { rows } = await sql<Record<string, unknown>>`fetch forward ${sql.lit(SNAPSHOT_PAGE_ROWS)} from keyhold_backup_page`.execute(
          trx,
        );
        if (rows.length > 0) yield rows.map((row) => shape.columns.map((column) => row[column]));
        if (rows.length < SNAPSHOT_PAGE_ROWS) return;
      }
    } finally {
      await sql`close keyhold_backup_page`.execute(trx);
    }
  };
}
