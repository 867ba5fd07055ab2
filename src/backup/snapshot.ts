import { sql, type Kysely, type Transaction } from 'kysely';
import type { DatabaseConnection } from '../storage/connection.js';
import type { TableRows } from './content.js';
import { backupTables, type TableShape } from './tables.js';

/**
 * Reads every table to back up inside one read transaction, so the snapshot is consistent while the node
 * keeps serving: PostgreSQL REPEATABLE READ (one snapshot for every query of the transaction), SQLite a read
 * transaction on this process's own connection (WAL mode: readers see the database as of their first
 * read and never block the node's writers).
 *
 * Without `withAudit`, each audit chain travels from its latest signed checkpoint on: the chain row (its
 * anchor moved to that checkpoint, as retention does), that checkpoint, and the events after it, so the
 * restored chain still verifies (`keyhold audit verify`) and the node continues it.
 */
export async function takeSnapshot(connection: DatabaseConnection, options: { withAudit: boolean }): Promise<TableRows[]> {
  const shapes = await backupTables(connection);
  const db = connection.tables<unknown>();
  let builder = db.transaction();
  if (connection.dialect === 'postgres') builder = builder.setIsolationLevel('repeatable read').setAccessMode('read only');
  return builder.execute(async (trx) => {
    const cuts = options.withAudit ? undefined : await auditCuts(trx);
    const out: TableRows[] = [];
    for (const shape of shapes) out.push({ name: shape.name, columns: shape.columns, rows: await readTable(trx, shape, cuts) });
    return out;
  });
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

async function readTable(trx: Kysely<unknown>, shape: TableShape, cuts: AuditCuts | undefined): Promise<Record<string, unknown>[]> {
  const table = sql.table(shape.name);
  if (!cuts || !['audit_chains', 'audit_checkpoints', 'audit_events'].includes(shape.name)) {
    return (await sql<Record<string, unknown>>`select * from ${table}`.execute(trx)).rows;
  }
  if (shape.name === 'audit_chains') {
    const { rows } = await sql<Record<string, unknown>>`select * from audit_chains`.execute(trx);
    return rows.map((row) => {
      const cut = cuts.get(String(row.chain_id));
      return cut ? { ...row, anchor_seq: cut.seq, anchor_hash: cut.hash } : row;
    });
  }
  const rows: Record<string, unknown>[] = [];
  const op = shape.name === 'audit_events' ? sql.raw('>') : sql.raw('>=');
  for (const [chain, cut] of cuts) {
    const from = cut?.seq ?? 0;
    rows.push(
      ...(await sql<Record<string, unknown>>`select * from ${table} where chain_id = ${chain} and seq ${op} ${from}`.execute(trx)).rows,
    );
  }
  // Events of chains whose signing key was never stored (no chain row, no checkpoints): all of them.
  const known = [...cuts.keys()];
  const others =
    known.length === 0
      ? sql<Record<string, unknown>>`select * from ${table}`
      : sql<Record<string, unknown>>`select * from ${table} where chain_id not in (${sql.join(known)})`;
  rows.push(...(await others.execute(trx)).rows);
  return rows;
}
