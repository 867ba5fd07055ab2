import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { AuditStore, Checkpoint } from './audit-store.js';
import type { CheckpointSigner } from './checkpoint-signing.js';

/** When the audit log signs checkpoints of its chain, and what it signed last (internal to open-audit-log.ts). */
export interface Checkpointer {
  /**
   * Signs and stores a checkpoint at the committed head (`seq`, `hash`) when one is due (every N events,
   * or the interval passed) or `force`d, and there is anything new since the last. Undefined when none
   * was written: not due, the root cannot sign yet (postponed), or the write failed (logged).
   */
  checkpoint(seq: number, hash: string, force: boolean): Promise<Checkpoint | undefined>;
  /** The last checkpoint written, and whether a due one waits for the root of trust. */
  status(): { lastCheckpoint?: { seq: number; time: number }; checkpointPostponed: boolean };
}

export function createCheckpointer(options: {
  audit: Pick<AuditStore, 'addCheckpoint'>;
  signer: CheckpointSigner;
  chain: string;
  clock: Clock;
  logger: Logger;
  /** The chain's latest stored checkpoint. */
  last: Checkpoint | undefined;
  every: number;
  intervalMs: number;
}): Checkpointer {
  const { audit, signer, chain, clock, logger, every, intervalMs } = options;
  let last = options.last;
  let lastAt = clock.now();
  let postponed = false;
  return {
    async checkpoint(seq, hash, force) {
      const since = last?.seq ?? 0;
      if (seq <= since) return undefined;
      const due = force || seq - since >= every || clock.now() - lastAt >= intervalMs;
      if (!due) return undefined;
      try {
        const signed = await signer.sign({ chain, seq, hash, time: clock.now() });
        if (!signed) {
          postponed = true;
          return undefined;
        }
        await audit.addCheckpoint(signed);
        postponed = false;
        last = signed;
        lastAt = clock.now();
        return signed;
      } catch (error) {
        logger.warn({ event: 'audit.checkpoint_failed', err: error }, 'could not write an audit checkpoint');
        return undefined;
      }
    },
    status: () => ({ lastCheckpoint: last && { seq: last.seq, time: last.time }, checkpointPostponed: postponed }),
  };
}
