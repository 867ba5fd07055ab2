import type { Checkpoint } from './audit-store.js';
import type { AuditEventFields } from './event.js';

/**
 * durable: a request is answered only once its event is committed (or, while the database is
 * unreachable, fsynced to the local spool). fail-closed: an event that cannot be committed fails
 * its request; nothing is spooled. lossy: requests never wait; a bounded queue, drops counted.
 */
export type AuditMode = 'durable' | 'fail-closed' | 'lossy';
export const AUDIT_MODES: readonly AuditMode[] = ['durable', 'fail-closed', 'lossy'];

export interface AuditStatus {
  mode: AuditMode;
  chain: string;
  /** Last sequence number committed to the database. */
  committedSeq: number;
  /** Events waiting in memory for the next commit. */
  queued: number;
  /** Batches handed to the database writer and not settled yet (more than 1 when commits are pipelined). */
  inFlight: number;
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
 * The node's audit chain writer (openAuditLog in open-audit-log.ts opens one). Events are collected and
 * committed in one transaction per batch (group commit); sequence numbers and hashes are assigned at
 * commit, in arrival order, so the in-memory head never runs ahead of what is durable. Checkpoints are
 * signed every N events or at an interval; while the database is unreachable, durable mode spools.
 */
export interface AuditLog {
  /** The chain it writes (the node id). */
  readonly chain: string;
  readonly mode: AuditMode;
  /** The chain's checkpoint verification key (PEM). */
  readonly publicKeyPem: string;
  /**
   * Appends an event. durable/fail-closed: resolves once committed (durable: or spooled), rejects
   * when it cannot be recorded. lossy: resolves at once; the event is dropped (and counted) when
   * the queue is full or the commit fails.
   */
  append(fields: AuditEventFields): Promise<void>;
  /** Waits until everything appended so far is committed (or spooled). */
  flush(): Promise<void>;
  /** Signs a checkpoint at the committed head now (if there is anything new). */
  checkpointNow(): Promise<Checkpoint | undefined>;
  /** Called with the committed sequence number after each commit (the syslog forwarder listens); returns the unsubscribe. */
  onCommit(listener: (seq: number) => void): () => void;
  status(): AuditStatus;
  /** Flushes, signs a last checkpoint and closes the spool; later appends are refused. */
  close(): Promise<void>;
}
