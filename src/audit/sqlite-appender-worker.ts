/**
 * Worker thread that commits audit batches to SQLite on its own connection, so a commit's fsync
 * (synchronous=FULL: a committed event survives power loss) never blocks the node's event loop.
 * Messages: { id, rows } → { id } or { id, error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import type { AuditEventRow } from './audit-store.js';

const COLUMNS: (keyof AuditEventRow)[] = [
  'chain_id', 'seq', 'time', 'kind', 'actor_kind', 'actor_id', 'actor_name', 'action', 'keystore', 'key_id', 'key_version',
  'kms_operation', 'kms_request_id', 'principal_arn', 'source_vpc', 'source_vpce', 'kms_via_service', 'outcome', 'status',
  'error_name', 'detail', 'policy_rule_id', 'latency_us', 'target', 'prev_hash', 'hash',
];

const db = new SqliteDatabase((workerData as { path: string }).path);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');
const insert = db.prepare(
  `insert into audit_events (${COLUMNS.join(', ')}) values (${COLUMNS.map((c) => `@${c}`).join(', ')}) on conflict (chain_id, seq) do nothing`,
);
const commit = db.transaction((rows: AuditEventRow[]) => {
  for (const row of rows) insert.run(row);
});

parentPort!.on('message', (message: { id: number; rows?: AuditEventRow[]; close?: true }) => {
  if (message.close) {
    db.close();
    parentPort!.postMessage({ id: message.id });
    return;
  }
  try {
    commit(message.rows!);
    parentPort!.postMessage({ id: message.id });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: (error as Error).message });
  }
});
