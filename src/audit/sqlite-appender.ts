import { Worker } from 'node:worker_threads';
import { checkpointRow } from './audit-rows.js';
import type { Checkpoint } from './audit-store.js';
import { canonicalEvent, type ChainedAuditEvent } from './event.js';

/**
 * SQLite `synchronous` for audit commits (WAL). full: every commit is fsynced before the request is
 * answered, so it survives power loss. normal: the commit reaches the OS at once (it survives the
 * process crashing) but is fsynced only at WAL checkpoints, so power loss can take the last ones.
 */
export type AuditSync = 'full' | 'normal';
export const AUDIT_SYNCS: readonly AuditSync[] = ['full', 'normal'];

/** Where the audit writer commits batches (the audit store itself, or the SQLite worker below). */
export interface AuditAppender {
  /**
   * Commits one batch. `epoch` (pipelined appenders): once a batch fails, every later batch of the same
   * or an older epoch fails too without being committed, so batches handed over behind a failed one can
   * never leave a gap in the chain; the audit log moves to a new epoch when it learns of the failure.
   */
  appendBatch(events: readonly ChainedAuditEvent[], epoch?: number, canonical?: readonly string[]): Promise<void>;
  /**
   * How many batches may be handed over before the first is committed (default 1: one at a time).
   * More than 1 only where batches are committed strictly in the order given, with the epoch rule above.
   */
  pipelineDepth?(): number;
  /**
   * Stores a signed checkpoint of batches already committed. Where present, the audit log writes its
   * checkpoints here rather than through the store, so on SQLite the writer thread stores them and the
   * event loop never waits on the file's write lock (which the thread holds through each fsync).
   */
  addCheckpoint?(checkpoint: Checkpoint): Promise<void>;
  close?(): Promise<void>;
}

/**
 * Batches the SQLite writer thread may hold at once. While one commits (its fsync), the next turns'
 * batches are already queued on the thread, which takes all of them into its next transaction.
 */
export const SQLITE_PIPELINE_DEPTH = 8;

/**
 * Commits audit batches to the SQLite file from a worker thread with its own connection: the
 * commit's fsync happens off the event loop, and meanwhile the next batch keeps filling. Should the
 * thread die, batches go to `fallback` (the main connection).
 */
export function openSqliteAppender(path: string, fallback?: AuditAppender, sync: AuditSync = 'full'): AuditAppender {
  if (!AUDIT_SYNCS.includes(sync)) throw new Error(`unknown audit sync "${String(sync)}": expected ${AUDIT_SYNCS.join(', ')}`);
  // Compiled, this module is .js next to the worker's .js; under the TypeScript loader (tests) both
  // are .ts, and the worker needs the loader too.
  const typescript = import.meta.url.endsWith('.ts');
  const script = new URL(`./sqlite-appender-worker${typescript ? '.ts' : '.js'}`, import.meta.url);
  const worker = typescript
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); });`,
        { eval: true, workerData: { path, sync } },
      )
    : new Worker(script, { workerData: { path, sync } });
  worker.unref();
  let nextId = 0;
  const waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  let failed: Error | undefined;
  worker.on('message', (message: { id: number; error?: string }) => {
    const entry = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error === undefined) entry?.resolve();
    else entry?.reject(new Error(message.error));
  });
  const failAll = (error: Error) => {
    failed = error;
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', () => failAll(failed ?? new Error('the audit writer thread stopped')));
  const call = (message: object) =>
    new Promise<void>((resolve, reject) => {
      if (failed) return reject(failed);
      const id = ++nextId;
      waiting.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, ...message });
    }).finally(() => {
      if (waiting.size === 0) worker.unref();
    });
  return {
    // If the thread is gone, commit on the caller's connection rather than not at all.
    appendBatch: (events, epoch = 0, canonical) =>
      events.length === 0
        ? Promise.resolve()
        : failed && fallback
          ? fallback.appendBatch(events)
          : call({ epoch, ...encodeBatch(events, canonical) }),
    pipelineDepth: () => (failed ? 1 : SQLITE_PIPELINE_DEPTH),
    addCheckpoint: (checkpoint) =>
      failed && fallback?.addCheckpoint ? fallback.addCheckpoint(checkpoint) : call({ checkpoint: checkpointRow(checkpoint) }),
    async close() {
      if (!failed) await call({ close: true }).catch(() => undefined);
      await worker.terminate();
    },
  };
}

/**
 * A batch as two strings (copied, not structured-cloned field by field): a JSON array of the events'
 * canonical forms, which hold every column but the hash, and the hashes concatenated (64 hex each).
 */
function encodeBatch(events: readonly ChainedAuditEvent[], forms?: readonly string[]): { canonical: string; hashes: string } {
  let canonical = '[';
  let hashes = '';
  for (const [i, event] of events.entries()) {
    canonical += (i === 0 ? '' : ',') + (forms?.[i] ?? canonicalEvent(event));
    hashes += event.hash;
  }
  return { canonical: canonical + ']', hashes };
}
