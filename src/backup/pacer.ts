import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Clock } from '../core/clock.js';

/**
 * Keeps a long job (a backup beside a serving node) to a share of one core: the job works in slices and
 * calls `pause()` between them; each pause sleeps long enough that the time spent working since the previous
 * pause is at most `share` of the time that has passed. A slice's working time is measured on the clock, so
 * whatever the slice waited for (the thread pool's zlib, the disk) counts as work, and a slice slowed down by a
 * busy machine earns a longer pause: the busier the node beside it, the gentler the job.
 */
export interface Pacer {
  pause(): Promise<void>;
  /** Total time slept in pauses so far (ms): how much the pacing lengthened the job. */
  readonly sleptMs: number;
}

/** The default share of a core a backup takes beside a serving node (docs/backup.md#pacing). */
export const DEFAULT_BACKUP_CPU_SHARE = 0.25;

export function createPacer(options: {
  share: number;
  clock: Clock;
  /** Injected by tests; resolves after `ms`. */
  sleep?: (ms: number) => Promise<void>;
}): Pacer {
  const { share, clock } = options;
  if (!(share > 0 && share <= 1)) throw new RangeError(`a CPU share must be above 0 and at most 1 (got ${share})`);
  const sleep = options.sleep ?? ((ms: number) => sleepFor(ms));
  let sliceStartedAt = clock.now();
  let sleptMs = 0;
  return {
    get sleptMs() {
      return sleptMs;
    },
    async pause() {
      if (share >= 1) return;
      const worked = clock.now() - sliceStartedAt;
      // worked / (worked + rest) = share
      const rest = (worked * (1 - share)) / share;
      if (rest >= 1) {
        await sleep(rest);
        sleptMs += rest;
      }
      sliceStartedAt = clock.now();
    },
  };
}

/** A pacer that never pauses (offline work: migrate, restore). */
export const unpaced = (clock: Clock): Pacer => createPacer({ share: 1, clock });
