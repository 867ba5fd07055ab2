import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { AuditStore, Checkpoint } from './audit-store.js';
import type { CheckpointSigner } from './checkpoint-signing.js';
import { chainEvent, GENESIS_HASH, type AuditEventFields } from './event.js';
import type { AuditSpool } from './spool.js';
import type { AuditAppender } from './sqlite-appender.js';

/**
 * durable: a request is answered only once its event is committed (or, while the database is
 * unreachable, fsynced to the local spool). fail-closed: an event that cannot be committed fails
 * its request; nothing is spooled. lossy: requests never wait; a bounded queue, drops counted.
 */
export type AuditMode = 'durable' | 'fail-closed' | 'lossy';
export const AUDIT_MODES: readonly AuditMode[] = ['durable', 'fail-closed', 'lossy'];

export interface AuditLogOptions {
  audit: AuditStore;
  /** Where batches are committed (default: `audit`; on SQLite, a writer thread). */
  appender?: AuditAppender;
  chain: string;
  signer: CheckpointSigner;
  spool: AuditSpool;
  clock: Clock;
  logger: Logger;
  mode?: AuditMode;
  /** A batch is committed when it holds this many events… */
  maxBatch?: number;
  /**
   * …or, when no commit is in flight, this long after its first event arrived. Default 0: at the
   * end of the current event-loop turn, so an idle writer never adds a fixed delay; under load the
   * batch fills while the previous commit is in flight (true group commit).
   */
  flushDelayMs?: number;
  /** A checkpoint is signed every this many events… */
  checkpointEvery?: number;
  /** …or this often when there are new events. */
  checkpointIntervalMs?: number;
  /** lossy mode: events beyond this many waiting are dropped (and counted). */
  lossyQueueLimit?: number;
  /** While spooling, the database is retried at most this often. */
  retryIntervalMs?: number;
}

interface Pending {
  fields: AuditEventFields;
  resolve(): void;
  reject(error: Error): void;
}

export interface AuditStatus {
  mode: AuditMode;
  chain: string;
  /** Last sequence number committed to the database. */
  committedSeq: number;
  /** Events waiting in memory for the next commit. */
  queued: number;
  /** Events in the local spool awaiting replay (database unreachable). */
  spooled: number;
  /** Events dropped (lossy mode only). */
  dropped: number;
  /** Batches committed by this process (each one transaction). */
  commits: number;
  lastCheckpoint?: { seq: number; time: number };
  /** A checkpoint is due but the root of trust cannot sign yet. */
  checkpointPostponed: boolean;
  lastError?: string;
}

/**
 * The node's audit chain writer. Events are collected and committed in one transaction per batch
 * (group commit); sequence numbers and hashes are assigned at commit, in arrival order, so the
 * in-memory head never runs ahead of what is durable.
 */
export async function openAuditLog(options: AuditLogOptions) {
  const { audit, chain, signer, spool, clock, logger } = options;
  const appender = options.appender ?? audit;
  const mode = options.mode ?? 'durable';
  if (!AUDIT_MODES.includes(mode)) throw new Error(`unknown audit mode "${String(mode)}": expected ${AUDIT_MODES.join(', ')}`);
  const maxBatch = options.maxBatch ?? 256;
  const flushDelayMs = options.flushDelayMs ?? 0;
  const checkpointEvery = options.checkpointEvery ?? 1000;
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 60_000;
  const lossyQueueLimit = options.lossyQueueLimit ?? 10_000;
  const retryIntervalMs = options.retryIntervalMs ?? 1000;

  // Head: the database's, then whatever an earlier run left in the spool (replayed now).
  const chainRow = await audit.getChain(chain);
  let head = (await audit.head(chain)) ?? { seq: chainRow?.anchor_seq ?? 0, hash: chainRow?.anchor_hash ?? GENESIS_HASH };
  const leftOver = spool.readExisting();
  if (leftOver.length > 0) {
    await audit.appendBatch(leftOver);
    await spool.clear();
    const last = leftOver[leftOver.length - 1]!;
    if (last.seq > head.seq) head = { seq: last.seq, hash: last.hash };
    logger.info({ event: 'audit.spool_replayed', events: leftOver.length }, 'replayed audit events spooled by an earlier run');
  }
  let committedSeq = head.seq;
  let lastCheckpoint = await audit.latestCheckpoint(chain);
  let lastCheckpointAt = clock.now();
  let checkpointPostponed = false;
  let spooling = false;
  let lastRetry = 0;
  let dropped = 0;
  let commits = 0;
  let lastError: string | undefined;
  const queue: Pending[] = [];
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  let flushing: Promise<void> | undefined;
  let closed = false;
  const listeners = new Set<(seq: number) => void>();

  function schedule(): void {
    if (flushing) return;
    if (queue.length >= maxBatch) {
      cancelTimer();
      flushing = flushLoop();
      return;
    }
    if (timer) return;
    const start = () => {
      timer = undefined;
      if (!flushing) flushing = flushLoop();
    };
    // setImmediate runs after this turn's I/O callbacks: requests answered in the same turn share a commit.
    timer = flushDelayMs > 0 ? setTimeout(start, flushDelayMs) : setImmediate(start);
  }

  function cancelTimer(): void {
    if (timer) {
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
    }
    timer = undefined;
  }

  async function flushLoop(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch);
        await commit(batch);
      }
    } finally {
      flushing = undefined;
      if (queue.length > 0) schedule();
    }
  }

  /** Runs background work (checkpoint, replay) while no batch is being committed. */
  function exclusive(work: () => Promise<void>): void {
    flushing = (async () => {
      try {
        await work();
      } catch (error) {
        logger.warn({ event: 'audit.background_failed', err: error }, 'audit background work failed');
      } finally {
        flushing = undefined;
        if (queue.length > 0) schedule();
      }
    })();
  }

  async function commit(batch: Pending[]): Promise<void> {
    let { seq, hash } = head;
    const events = batch.map((p) => {
      const event = chainEvent(p.fields, chain, ++seq, hash);
      hash = event.hash;
      return event;
    });
    try {
      if (spooling) await replaySpool();
      if (spooling) throw new Error('database still unreachable');
      await appender.appendBatch(events);
      commits++;
      committedSeq = seq;
      head = { seq, hash };
      lastError = undefined;
    } catch (error) {
      lastError = (error as Error).message;
      if (mode === 'durable') {
        try {
          if (!spooling) logger.error({ event: 'audit.spooling', err: error }, 'audit database unreachable; spooling events to local disk');
          spooling = true;
          await spool.append(events);
          head = { seq, hash };
        } catch (spoolError) {
          logger.error({ event: 'audit.spool_failed', err: spoolError }, 'could not spool audit events');
          for (const p of batch) p.reject(new Error('audit event could not be recorded'));
          return;
        }
      } else {
        if (mode === 'lossy') dropped += batch.length;
        logger.error(
          { event: 'audit.commit_failed', err: error, events: batch.length },
          mode === 'lossy' ? 'audit events dropped' : 'audit events not recorded; failing their requests',
        );
        for (const p of batch) p.reject(new Error('audit event could not be recorded'));
        return;
      }
    }
    for (const p of batch) p.resolve();
    if (!spooling) {
      for (const listener of listeners) listener(committedSeq);
      await maybeCheckpoint(false);
    }
  }

  /** Replays the spool in order; on success the database has caught up with the head. */
  async function replaySpool(): Promise<void> {
    const now = clock.now();
    if (now - lastRetry < retryIntervalMs) return;
    lastRetry = now;
    try {
      const events = spool.read();
      await appender.appendBatch(events);
      await spool.clear();
      spooling = false;
      committedSeq = head.seq;
      logger.info({ event: 'audit.spool_replayed', events: events.length }, 'audit database reachable again; spooled events replayed');
    } catch {
      // Still down: keep spooling.
    }
  }

  async function maybeCheckpoint(force: boolean): Promise<Checkpoint | undefined> {
    const since = lastCheckpoint?.seq ?? 0;
    if (committedSeq <= since) return undefined;
    const due = force || committedSeq - since >= checkpointEvery || clock.now() - lastCheckpointAt >= checkpointIntervalMs;
    if (!due) return undefined;
    try {
      const signed = await signer.sign({ chain, seq: committedSeq, hash: head.hash, time: clock.now() });
      if (!signed) {
        checkpointPostponed = true;
        return undefined;
      }
      await audit.addCheckpoint(signed);
      checkpointPostponed = false;
      lastCheckpoint = signed;
      lastCheckpointAt = clock.now();
      return signed;
    } catch (error) {
      logger.warn({ event: 'audit.checkpoint_failed', err: error }, 'could not write an audit checkpoint');
      return undefined;
    }
  }

  // The interval checkpoint (and, while spooling, the replay) also happen without new traffic.
  const tick = setInterval(() => void background(), Math.min(checkpointIntervalMs, retryIntervalMs, 1000));
  tick.unref();
  let lastDropsLogged = 0;
  let lastDropsLogAt = clock.now();
  async function background(): Promise<void> {
    if (flushing || closed) return;
    if (dropped > lastDropsLogged && clock.now() - lastDropsLogAt >= 10_000) {
      logger.warn({ event: 'audit.dropped', dropped, since: dropped - lastDropsLogged }, 'audit events dropped in lossy mode');
      lastDropsLogged = dropped;
      lastDropsLogAt = clock.now();
    }
    if (spooling) {
      exclusive(async () => {
        await replaySpool();
        if (!spooling) for (const listener of listeners) listener(committedSeq);
      });
      return;
    }
    exclusive(async () => {
      await maybeCheckpoint(false);
    });
  }

  return {
    chain,
    mode,
    publicKeyPem: signer.publicKeyPem,

    /**
     * Appends an event. durable/fail-closed: resolves once committed (durable: or spooled), rejects
     * when it cannot be recorded. lossy: resolves at once; the event is dropped (and counted) when
     * the queue is full or the commit fails.
     */
    append(fields: AuditEventFields): Promise<void> {
      if (closed) return Promise.reject(new Error('the audit log is closed'));
      if (mode === 'lossy') {
        if (queue.length >= lossyQueueLimit) {
          dropped++;
          return Promise.resolve();
        }
        queue.push({ fields, resolve: () => {}, reject: () => {} });
        schedule();
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ fields, resolve, reject });
        schedule();
      });
    },

    /** Waits until everything appended so far is committed (or spooled). */
    async flush(): Promise<void> {
      while (flushing || queue.length > 0 || timer) {
        if (!flushing && queue.length > 0) {
          cancelTimer();
          flushing = flushLoop();
        }
        await (flushing ?? new Promise((r) => setTimeout(r, 1)));
      }
    },

    /** Signs a checkpoint at the committed head now (if there is anything new). */
    async checkpointNow(): Promise<Checkpoint | undefined> {
      await this.flush();
      return maybeCheckpoint(true);
    },

    /** Called with the committed sequence number after each commit (the syslog forwarder listens). */
    onCommit(listener: (seq: number) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    status(): AuditStatus {
      return {
        mode,
        chain,
        committedSeq,
        queued: queue.length,
        spooled: spool.size,
        dropped,
        commits,
        lastCheckpoint: lastCheckpoint && { seq: lastCheckpoint.seq, time: lastCheckpoint.time },
        checkpointPostponed,
        lastError,
      };
    },

    async close(): Promise<void> {
      await this.flush();
      closed = true;
      clearInterval(tick);
      if (!spooling) await maybeCheckpoint(true);
      await spool.close();
    },
  };
}

export type AuditLog = Awaited<ReturnType<typeof openAuditLog>>;
