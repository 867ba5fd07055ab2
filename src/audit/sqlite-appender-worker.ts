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

/** What the appender sends (sqlite-appender.ts): a batch to commit, or the request to close. */
type Message = { id: number; close: true } | { id: number; canonical: string; hashes: string };

function settings(data: unknown): { path: string; sync: 'full' | 'normal' } {
  if (typeof data === 'object' && data !== null && 'path' in data && typeof data.path === 'string' && 'sync' in data) {
    return { path: data.path, sync: data.sync === 'normal' ? 'normal' : 'full' };
  }
  throw new Error('the audit writer thread needs { path, sync } as its workerData');
}

const port = parentPort;
if (!port) throw new Error('the audit writer runs as a worker thread');
const { path, sync } = settings(workerData);
const db = new SqliteDatabase(path);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.pragma(sync === 'normal' ? 'synchronous = NORMAL' : 'synchronous = FULL');
const insert = db.prepare(
  `insert into audit_events (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')}) on conflict (chain_id, seq) do nothing`,
);
const commit = db.transaction((canonical: string, hashes: string) => {
  const events: unknown = JSON.parse(canonical);
  if (!Array.isArray(events) || hashes.length !== events.length * HASH_LENGTH) throw new Error('audit batch: hashes do not match events');
  events.forEach((event: unknown, i) => {
    const row: unknown[] = Array.isArray(event) ? event : [];
    const [tag, ...values] = row;
    if (tag !== TAG || values.length !== COLUMNS.length - 1) throw new Error('audit batch: not a canonical event');
    insert.run([...values, hashes.slice(i * HASH_LENGTH, (i + 1) * HASH_LENGTH)]);
  });
});

port.on('message', (message: Message) => {
  if ('close' in message) {
    db.close();
    port.postMessage({ id: message.id });
    return;
  }
  try {
    commit(message.canonical, message.hashes);
    port.postMessage({ id: message.id });
  } catch (error) {
    port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
