/**
 * Worker thread that commits audit batches to SQLite on its own connection, so a commit's fsync
 * (synchronous=FULL, the default: a committed event survives power loss; NORMAL: it survives a crash
 * of the process, see docs/audit.md) never blocks the node's event loop.
 * Messages: { id, epoch, canonical, hashes } (see encodeBatch in sqlite-appender.ts), or { id, checkpoint } (a
 * signed checkpoint row, of batches already committed) → { id } or { id, error }.
 * Every batch already queued when one arrives is committed with it in one transaction (group commit across
 * pipelined batches). Once a batch fails, batches of its epoch or an older one fail without being
 * committed (the AuditAppender contract), so no later batch can be stored past a missing one.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import type { AuditCheckpointRow, AuditEventRow } from './audit-rows.js';

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

/** What the appender sends (sqlite-appender.ts): a batch to commit, a checkpoint to store, or the request to close. */
type Message = { id: number; close: true } | { id: number; checkpoint: AuditCheckpointRow } | Batch;
type Batch = { id: number; epoch: number; canonical: string; hashes: string };

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
// No busy timeout: SQLite's own busy handler sleeps 1, 2, 5, 10… ms between tries, so with several
// writers on the file (serve --workers N) a commit that lost the lock once waited far longer than the
// other writer held it. commitWhenFree retries every BUSY_RETRY_MS instead, up to BUSY_LIMIT_MS.
db.pragma('busy_timeout = 0');
db.pragma(sync === 'normal' ? 'synchronous = NORMAL' : 'synchronous = FULL');
const insert = db.prepare(
  `insert into audit_events (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')}) on conflict (chain_id, seq) do nothing`,
);
function insertBatch({ canonical, hashes }: Batch): void {
  const events: unknown = JSON.parse(canonical);
  if (!Array.isArray(events) || hashes.length !== events.length * HASH_LENGTH) throw new Error('audit batch: hashes do not match events');
  events.forEach((event: unknown, i) => {
    const row: unknown[] = Array.isArray(event) ? event : [];
    const [tag, ...values] = row;
    if (tag !== TAG || values.length !== COLUMNS.length - 1) throw new Error('audit batch: not a canonical event');
    insert.run([...values, hashes.slice(i * HASH_LENGTH, (i + 1) * HASH_LENGTH)]);
  });
}
const commit = db.transaction((batches: Batch[]) => batches.forEach(insertBatch));
const insertCheckpoint = db.prepare(
  'insert into audit_checkpoints (chain_id, seq, hash, time, signature) values (?, ?, ?, ?, ?) on conflict (chain_id, seq) do nothing',
);
const storeCheckpoints = db.transaction((rows: AuditCheckpointRow[]) => {
  for (const row of rows) insertCheckpoint.run(row.chain_id, row.seq, row.hash, row.time, row.signature);
});
const BUSY_RETRY_MS = 0.2;
const BUSY_LIMIT_MS = 5000;
const pause = new Int32Array(new SharedArrayBuffer(4));
const isBusy = (error: unknown) => error instanceof SqliteDatabase.SqliteError && error.code.startsWith('SQLITE_BUSY');

/** Runs `write` in one BEGIN IMMEDIATE transaction, retrying quickly while another process holds the write lock. */
function whenFree(write: () => void): void {
  const deadline = Date.now() + BUSY_LIMIT_MS;
  for (;;) {
    try {
      write();
      return;
    } catch (error) {
      if (!isBusy(error) || Date.now() > deadline) throw error;
      Atomics.wait(pause, 0, 0, BUSY_RETRY_MS); // this thread only: the event loop never waits here
    }
  }
}

/** The newest epoch in which a batch failed: its later batches fail too. */
let failedEpoch = -1;

/** Commits `batches` of one epoch (in order) in one transaction, unless a batch of that epoch failed already. */
const commitEpoch = (batches: Batch[], epoch: number): void => {
  if (epoch <= failedEpoch) {
    for (const b of batches) port.postMessage({ id: b.id, error: 'an earlier audit batch failed' });
    return;
  }
  try {
    whenFree(() => commit.immediate(batches));
    for (const b of batches) port.postMessage({ id: b.id });
  } catch (error) {
    failedEpoch = epoch;
    const reason = error instanceof Error ? error.message : String(error);
    for (const b of batches) port.postMessage({ id: b.id, error: reason });
  }
};

/** Commits queued batches: one transaction per run of the same epoch (a failure spoils only its own epoch). */
const commitAll = (batches: Batch[]): void => {
  for (let i = 0; i < batches.length;) {
    const epoch = batches[i]!.epoch;
    let j = i;
    while (j < batches.length && batches[j]!.epoch === epoch) j++;
    commitEpoch(batches.slice(i, j), epoch);
    i = j;
  }
};

/** Stores checkpoints (after the batches queued with them: a checkpoint only covers committed events). */
const storeAll = (checkpoints: { id: number; checkpoint: AuditCheckpointRow }[]): void => {
  if (checkpoints.length === 0) return;
  try {
    whenFree(() => storeCheckpoints.immediate(checkpoints.map((c) => c.checkpoint)));
    for (const c of checkpoints) port.postMessage({ id: c.id });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    for (const c of checkpoints) port.postMessage({ id: c.id, error: reason });
  }
};

port.on('message', (first: Message) => {
  // Everything queued behind this message goes into the same transaction; a close waits for them.
  const batches: Batch[] = [];
  const checkpoints: { id: number; checkpoint: AuditCheckpointRow }[] = [];
  let close: { id: number } | undefined;
  for (let message: Message | undefined = first; message; message = receiveMessageOnPort(port)?.message as Message | undefined) {
    if ('close' in message) close = message;
    else if ('checkpoint' in message) checkpoints.push(message);
    else batches.push(message);
    if (close) break;
  }
  commitAll(batches);
  storeAll(checkpoints);
  if (close) {
    db.close();
    port.postMessage({ id: close.id });
  }
});
