/**
 * Worker thread that commits audit batches to SQLite on its own connection, so a commit's fsync
 * (synchronous=FULL, the default: a committed event survives power loss; NORMAL: it survives a crash
 * of the process, see docs/audit.md) never blocks the node's event loop.
 * Messages: { id, canonical, hashes } (see encodeBatch in sqlite-appender.ts) → { id } or { id, error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import type { AuditEventRow } from './audit-rows.js';

/** The canonical form's order after its tag (event.ts: chain, seq, prevHash, then FIELD_ORDER), then the hash. */
const COLUMNS: (keyof AuditEventRow)[] = [
  'chain_id',
  'seq',
  'prev_hash',
  'time',
  'kind',
  'actor_kind',
  'actor_id',
  'actor_name',
  'action',
  'keystore',
  'key_id',
  'key_version',
  'kms_operation',
  'kms_request_id',
  'principal_arn',
  'source_vpc',
  'source_vpce',
  'kms_via_service',
  'outcome',
  'status',
  'error_name',
  'detail',
  'policy_rule_id',
  'latency_us',
  'target',
  'hash',
];
const TAG = 'keyhold-audit-v1';
const HASH_LENGTH = 64;

const { path, sync } = workerData as { path: string; sync: 'full' | 'normal' };
const db = new SqliteDatabase(path);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.pragma(sync === 'normal' ? 'synchronous = NORMAL' : 'synchronous = FULL');
const insert = db.prepare(
  `insert into audit_events (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')}) on conflict (chain_id, seq) do nothing`,
);
const commit = db.transaction((canonical: string, hashes: string) => {
  const events = JSON.parse(canonical) as unknown[][];
  if (hashes.length !== events.length * HASH_LENGTH) throw new Error('audit batch: hashes do not match events');
  events.forEach(([tag, ...values], i) => {
    if (tag !== TAG || values.length !== COLUMNS.length - 1) throw new Error('audit batch: not a canonical event');
    insert.run([...values, hashes.slice(i * HASH_LENGTH, (i + 1) * HASH_LENGTH)]);
  });
});

parentPort!.on('message', (message: { id: number; canonical?: string; hashes?: string; close?: true }) => {
  if (message.close) {
    db.close();
    parentPort!.postMessage({ id: message.id });
    return;
  }
  try {
    commit(message.canonical!, message.hashes!);
    parentPort!.postMessage({ id: message.id });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: (error as Error).message });
  }
});
