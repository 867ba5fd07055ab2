/*
 * Over 300 lines: the chain writer's state (head, committed head, epochs, spooling) is shared by
 * dispatch, settlement, spool replay and checkpoints; split apart, every part would take all of it.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { AUDIT_MODES, type AuditLog, type AuditMode, type AuditStatus } from './audit-log.js';
import type { AuditStore } from './audit-store.js';
import { createCheckpointer } from './checkpointer.js';
import type { CheckpointSigner } from './checkpoint-signing.js';
import { chainEventWithForm, GENESIS_HASH, type AuditEventFields, type ChainedAuditEvent } from './event.js';
import type { AuditSpool } from './spool.js';
import type { AuditAppender } from './sqlite-appender.js';

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

/** Opens the node's audit chain writer (the AuditLog interface in audit-log.ts says what it does). */
export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const { audit, chain, signer, spool, clock, logger } = options;
  const appender: AuditAppender = options.appender ?? audit;
  const mode = options.mode ?? 'durable';
  if (!AUDIT_MODES.includes(mode)) throw new Error(`unknown audit mode "${String(mode)}": expected ${AUDIT_MODES.join(', ')}`);
  const maxBatch = options.maxBatch ?? 256;
  const flushDelayMs = options.flushDelayMs ?? 0;
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 60_000;
  const lossyQueueLimit = options.lossyQueueLimit ?? 10_000;
  const retryIntervalMs = options.retryIntervalMs ?? 1000;

  let head = await recoverHead(audit, chain, spool, logger);
  let committedSeq = head.seq;
  // Through the appender when it stores checkpoints (the SQLite writer thread): see AuditAppender.addCheckpoint.
  const storeCheckpoint = appender.addCheckpoint?.bind(appender);
  const checkpoints = createCheckpointer({
    audit: storeCheckpoint ? { addCheckpoint: storeCheckpoint } : audit,
    signer,
    chain,
    clock,
    logger,
    last: await audit.latestCheckpoint(chain),
    every: options.checkpointEvery ?? 1000,
    intervalMs: checkpointIntervalMs,
  });
  const maybeCheckpoint = (force: boolean) => checkpoints.checkpoint(committedSeq, committedHash, force);
  let spooling = false;
  let lastRetry = 0;
  let dropped = 0;
  let commits = 0;
  let lastError: string | undefined;
  const queue: Pending[] = [];
  /** The timer that dispatches the queue, while one is set. */
  let batchTimer: { cancel(): void } | undefined;
  /** Background work (checkpoint, replay) while it runs; nothing is dispatched meanwhile. */
  let chore: Promise<void> | undefined;
  /** Batches handed to the appender and not settled yet, and the tail of their in-order settlement. */
  let inFlight = 0;
  let settled: Promise<void> = Promise.resolve();
  /** Bumped when a commit fails: batches handed over before that fail with it (AuditAppender epoch rule). */
  let epoch = 0;
  /** An epoch in which a batch could be neither committed nor spooled: its later batches fail unrecorded. */
  let unrecordedEpoch = -1;
  /** The last committed event's hash (`head` may run ahead of it by the batches in flight). */
  let committedHash = head.hash;
  let closed = false;
  const listeners = new Set<(seq: number) => void>();
  const notifyCommitted = () => {
    for (const listener of listeners) listener(committedSeq);
  };
  const depth = () => (spooling ? 1 : Math.max(1, appender.pipelineDepth?.() ?? 1));

  function schedule(): void {
    if (queue.length >= maxBatch) {
      cancelBatchTimer();
      pump();
      return;
    }
    if (batchTimer) return;
    const start = () => {
      batchTimer = undefined;
      pump();
    };
    if (flushDelayMs > 0 && inFlight === 0) {
      const timeout = setTimeout(start, flushDelayMs);
      batchTimer = { cancel: () => clearTimeout(timeout) };
    } else {
      // setImmediate runs after this turn's I/O callbacks: requests answered in the same turn share a batch.
      const immediate = setImmediate(start);
      batchTimer = { cancel: () => clearImmediate(immediate) };
    }
  }

  function cancelBatchTimer(): void {
    batchTimer?.cancel();
    batchTimer = undefined;
  }

  /**
   * Hands the queue to the appender, a batch at a time, while fewer than depth() batches are in flight.
   * With depth 1 a batch is handed over once the previous one settled (it fills meanwhile); a pipelined
   * appender (the SQLite writer thread) gets each turn's batch at once, so its next commit starts as soon
   * as the previous one ends rather than after the event loop has heard of it.
   */
  function pump(): void {
    while (queue.length > 0 && !chore && inFlight < depth()) dispatch(queue.splice(0, maxBatch));
  }

  /** Chains `batch` after the head, hands it over (pipelined) or queues its commit, and settles it in order. */
  function dispatch(batch: Pending[]): void {
    const before = head;
    let { seq, hash } = head;
    const canonical: string[] = [];
    const events = batch.map((p) => {
      const chained = chainEventWithForm(p.fields, chain, ++seq, hash);
      canonical.push(chained.canonical);
      hash = chained.event.hash;
      return chained.event;
    });
    head = { seq, hash };
    const batchEpoch = epoch;
    inFlight++;
    // Pipelined: handed over now. Otherwise the commit starts when the batches before it have settled.
    const handedOver = depth() > 1 ? appender.appendBatch(events, batchEpoch, canonical) : undefined;
    handedOver?.catch(() => undefined); // awaited in order below; this only marks it handled meanwhile
    settled = settled.then(async () => {
      try {
        await commit(batch, events, canonical, before, batchEpoch, handedOver);
      } catch (error) {
        logger.error({ event: 'audit.commit_settle_failed', err: error }, 'audit batch could not be settled');
        for (const p of batch) p.reject(new Error('audit event could not be recorded'));
      } finally {
        inFlight--;
        pump();
      }
    });
  }

  /** Settles one batch (in dispatch order): committed, spooled (durable), or failed. */
  async function commit(
    batch: Pending[],
    events: ChainedAuditEvent[],
    canonical: readonly string[],
    before: { seq: number; hash: string },
    batchEpoch: number,
    handedOver: Promise<void> | undefined,
  ): Promise<void> {
    const last = events.at(-1);
    let usedEpoch = batchEpoch;
    try {
      if (handedOver) await handedOver;
      else {
        if (spooling) await replaySpool();
        if (spooling) throw new Error('database still unreachable');
        usedEpoch = epoch;
        await appender.appendBatch(events, usedEpoch, canonical);
      }
      commits++;
      if (last) {
        committedSeq = last.seq;
        committedHash = last.hash;
      }
      lastError = undefined;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      // The first failure of an epoch starts a new one; the batches handed over behind it (stale) fail too.
      const stale = usedEpoch < epoch;
      if (!stale) epoch++;
      const fail = () => {
        for (const p of batch) p.reject(new Error('audit event could not be recorded'));
      };
      if (mode !== 'durable') {
        if (mode === 'lossy') dropped += batch.length;
        logger.error(
          { event: 'audit.commit_failed', err: error, events: batch.length },
          mode === 'lossy' ? 'audit events dropped' : 'audit events not recorded; failing their requests',
        );
        // The chain goes on from the last committed event; the stale batches were chained behind this one.
        if (!stale) head = before;
        return fail();
      }
      // Behind a batch that could be recorded nowhere: spooling this one would leave a gap in the chain.
      if (unrecordedEpoch === usedEpoch) return fail();
      try {
        if (!spooling) logger.error({ event: 'audit.spooling', err: error }, 'audit database unreachable; spooling events to local disk');
        spooling = true;
        await spool.append(events);
      } catch (spoolError) {
        logger.error({ event: 'audit.spool_failed', err: spoolError }, 'could not spool audit events');
        // The chain goes on from the last event recorded (committed or spooled); the stale batches fail.
        unrecordedEpoch = usedEpoch;
        head = before;
        return fail();
      }
    }
    for (const p of batch) p.resolve();
    if (!spooling) {
      notifyCommitted();
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
      await appender.appendBatch(events, epoch);
      await spool.clear();
      spooling = false;
      const last = events.at(-1);
      if (last) {
        committedSeq = last.seq;
        committedHash = last.hash;
      }
      logger.info({ event: 'audit.spool_replayed', events: events.length }, 'audit database reachable again; spooled events replayed');
    } catch {
      // Still down: keep spooling (a new epoch: the writer refuses the failed one's batches).
      epoch++;
    }
  }

  // The interval checkpoint (and, while spooling, the replay) also happen without new traffic.
  const tick = setInterval(background, Math.min(checkpointIntervalMs, retryIntervalMs, 1000));
  tick.unref();
  let lastDropsLogged = 0;
  let lastDropsLogAt = clock.now();
  function background(): void {
    if (chore || inFlight > 0 || closed) return;
    if (dropped > lastDropsLogged && clock.now() - lastDropsLogAt >= 10_000) {
      logger.warn({ event: 'audit.dropped', dropped, since: dropped - lastDropsLogged }, 'audit events dropped in lossy mode');
      lastDropsLogged = dropped;
      lastDropsLogAt = clock.now();
    }
    if (spooling) {
      exclusive(async () => {
        await replaySpool();
        if (!spooling) notifyCommitted();
      });
      return;
    }
    exclusive(async () => {
      await maybeCheckpoint(false);
    });
  }

  /** Runs background work (checkpoint, replay) while no batch is in flight; then dispatches what queued meanwhile. */
  function exclusive(work: () => Promise<void>): void {
    chore = (async () => {
      try {
        await work();
      } catch (error) {
        logger.warn({ event: 'audit.background_failed', err: error }, 'audit background work failed');
      } finally {
        chore = undefined;
        pump();
      }
    })();
  }

  async function flush(): Promise<void> {
    while (chore || inFlight > 0 || queue.length > 0 || batchTimer) {
      if (queue.length > 0) {
        cancelBatchTimer();
        pump();
      }
      await (chore ?? (inFlight > 0 ? settled : new Promise((r) => setTimeout(r, 1))));
    }
  }

  return {
    chain,
    mode,
    get publicKeyPem() {
      return signer.publicKeyPem;
    },
    append(fields) {
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
    flush,
    async checkpointNow() {
      await flush();
      return maybeCheckpoint(true);
    },
    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    status(): AuditStatus {
      return {
        mode,
        chain,
        committedSeq,
        queued: queue.length,
        inFlight,
        spooled: spool.size,
        dropped,
        commits,
        ...checkpoints.status(),
        lastError,
      };
    },
    async close() {
      await flush();
      closed = true;
      clearInterval(tick);
      if (!spooling) await maybeCheckpoint(true);
      await spool.close();
    },
  };
}

/** The chain's head: the database's, then whatever an earlier run left in the spool (replayed now). */
async function recoverHead(audit: AuditStore, chain: string, spool: AuditSpool, logger: Logger): Promise<{ seq: number; hash: string }> {
  const recorded = await audit.getChain(chain);
  const head = (await audit.head(chain)) ?? { seq: recorded?.anchorSeq ?? 0, hash: recorded?.anchorHash ?? GENESIS_HASH };
  const leftOver = spool.readExisting();
  const last = leftOver.at(-1);
  if (last === undefined) return head;
  await audit.appendBatch(leftOver);
  await spool.clear();
  logger.info({ event: 'audit.spool_replayed', events: leftOver.length }, 'replayed audit events spooled by an earlier run');
  return last.seq > head.seq ? { seq: last.seq, hash: last.hash } : head;
}
