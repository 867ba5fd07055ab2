import type { ChainedAuditEvent } from './event.js';

/** A signed checkpoint: Ed25519 over checkpointMessage(chain, seq, hash, time). */
export interface Checkpoint {
  chain: string;
  seq: number;
  hash: string;
  time: number;
  /** base64 Ed25519 signature. */
  signature: string;
}

/** One node's chain as the database records it: its signing key, retention anchor and syslog cursor. */
export interface AuditChain {
  chain: string;
  /** PEM; stored in the clear so anyone can verify the chain's checkpoints. */
  publicKey: string;
  /** The Ed25519 private key (PKCS#8 DER), sealed by the root of trust. */
  sealedPrivateKey: Buffer;
  /** Retention deleted every event up to this one; the chain is verified from the checkpoint there. */
  anchorSeq: number;
  anchorHash: string;
  /** The last event the syslog forwarder counts as delivered. */
  forwardedSeq: number;
  createdAt: number;
}

/** Search filters over every chain; results are ordered by (time, chain, seq). */
export interface AuditQuery {
  chain?: string;
  keyId?: string;
  keystore?: string;
  kmsRequestId?: string;
  principal?: string;
  outcome?: string;
  action?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  /** Resume after this (time, chain, seq). */
  after?: { time: number; chain: string; seq: number };
  limit: number;
}

/**
 * The audit log's data access: events, signed checkpoints and chain records (migration 0003_audit).
 * Writes are idempotent where a retry may repeat them (a replayed spool, two processes creating the same
 * chain). createAuditStore (sql-audit-store.ts) implements it on SQLite and PostgreSQL.
 */
export interface AuditStore {
  /** Commits a batch of chained events in one transaction; events already stored are left as they are. */
  appendBatch(events: readonly ChainedAuditEvent[]): Promise<void>;
  /** Stores a checkpoint (once per chain and sequence number). */
  addCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /** The last stored event of a chain, or undefined when it has none (left). */
  head(chain: string): Promise<{ seq: number; hash: string } | undefined>;

  getChain(chain: string): Promise<AuditChain | undefined>;
  /** Every chain record, by chain id. */
  listChains(): Promise<AuditChain[]>;
  /** The ids of every chain that holds events, with a chain record or without one (its key not stored yet). */
  chainsWithEvents(): Promise<string[]>;
  /** Records a chain, unless it is recorded already (then the stored one stays). */
  createChain(chain: AuditChain): Promise<void>;
  /** Moves the chain's syslog cursor. */
  setForwarded(chain: string, seq: number): Promise<void>;

  /** Events of one chain in sequence order, after `afterSeq`, at most `limit`. */
  chainEvents(chain: string, afterSeq: number, limit: number): Promise<ChainedAuditEvent[]>;
  /** The sequence number of the chain's event with this hash, if there is one. */
  seqOfHash(chain: string, hash: string): Promise<number | undefined>;
  /** A chain's checkpoints in sequence order. */
  checkpoints(chain: string): Promise<Checkpoint[]>;
  latestCheckpoint(chain: string): Promise<Checkpoint | undefined>;
  /** Search across chains, ordered by (time, chain, seq), keyset-paginated. */
  search(query: AuditQuery): Promise<ChainedAuditEvent[]>;

  /**
   * Retention: deletes a chain's events up to the checkpoint, which becomes the chain's anchor, and
   * the checkpoints before it, in one transaction. Returns how many events were deleted.
   */
  truncateTo(checkpoint: Checkpoint): Promise<number>;
  /** The latest checkpoint at or before the last event older than `before`, and not beyond `notBeyond` (retention's cut). */
  retentionCut(chain: string, before: number, notBeyond?: number): Promise<Checkpoint | undefined>;
}
