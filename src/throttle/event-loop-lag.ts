import type { MonotonicMs } from './token-bucket.js';

/** How far behind the event loop is running, in milliseconds (0 when on time). */
export interface EventLoopLag {
  lagMs(): number;
}

/**
 * The arithmetic of the lag monitor, apart from its timer so tests can drive it: a timer that should fire
 * every `sampleMs` records how late it fired (`tick`); the lag is then
 *
 * - the smaller of the last two samples: two loop turns in a row ran late, so a single pause (a GC, one
 *   slow synchronous call) does not count as overload, while a loop that stays behind does; or
 * - how overdue the next sample is right now, when that is more: while the loop is inside one long turn
 *   (a poll phase working through hundreds of readable sockets) the timer cannot fire, but a request
 *   handled late in that turn can see how long the turn has lasted.
 */
export class LagSamples {
  private previous = 0;
  private last = 0;
  private due: number;

  constructor(
    private readonly sampleMs: number,
    at: number,
  ) {
    this.due = at + sampleMs;
  }

  /** The timer fired at `at`; the next one is due `sampleMs` later. */
  tick(at: number): void {
    this.previous = this.last;
    this.last = Math.max(0, at - this.due);
    this.due = at + this.sampleMs;
  }

  lagMs(at: number): number {
    return Math.max(Math.min(this.previous, this.last), at - this.due);
  }
}

export const DEFAULT_LAG_SAMPLE_MS = 10;

/**
 * Measures the event loop's lag with an unref'd timer (it never keeps the process alive) every `sampleMs`
 * (default 10 ms: 100 cheap wake-ups a second). `stop()` clears the timer; a stopped monitor reads 0.
 */
export function monitorEventLoopLag(options: { sampleMs?: number; now?: MonotonicMs } = {}): EventLoopLag & { stop(): void } {
  const sampleMs = options.sampleMs ?? DEFAULT_LAG_SAMPLE_MS;
  const now = options.now ?? (() => performance.now());
  if (!Number.isFinite(sampleMs) || sampleMs < 1) throw new RangeError('sampleMs must be at least 1 millisecond');
  const samples = new LagSamples(sampleMs, now());
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(tick, sampleMs);
    timer.unref();
  };
  function tick(): void {
    samples.tick(now());
    arm();
  }
  arm();
  return {
    lagMs: () => (timer === undefined ? 0 : samples.lagMs(now())),
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** How often the gate changes the share of requests it admits while the loop is behind. */
export const LAG_ADJUST_MS = 10;
/** While the loop is behind, the admitted share shrinks to this at least: the node keeps serving some work. */
export const MIN_ADMIT_SHARE = 0.1;

/**
 * Overload from event-loop lag: while the lag is above `onMs` the gate admits a shrinking share of new
 * requests (×0.75 every 10 ms, down to 1 in 10), and once it is back to `onMs / 2` or less a growing share
 * (+0.05 every 10 ms, up to all); in between the share holds (hysteresis). Shedding everything at once would
 * starve the node of useful work whenever 429s alone keep the loop late (a busy machine, a flood of
 * connections), and turning all of it back on at once would flap. Which requests are admitted is
 * deterministic: a share of 0.4 admits the 3rd, 5th, 8th, 10th… request.
 */
export class LagGate {
  private readonly offMs: number;
  private share = 1;
  private credit = 0;
  private adjustedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly lag: EventLoopLag,
    readonly onMs: number,
    private readonly now: MonotonicMs = () => performance.now(),
  ) {
    this.offMs = onMs / 2;
  }

  /** The share of new requests admitted now (1 when the loop is on time). */
  admitShare(): number {
    return this.share;
  }

  /** Undefined to admit this request; else why it is shed: the lag and the share admitted. */
  check(): { lagMs: number; admitShare: number } | undefined {
    const lagMs = this.lag.lagMs();
    const at = this.now();
    if (at - this.adjustedAt >= LAG_ADJUST_MS) {
      if (lagMs > this.onMs) {
        this.share = Math.max(MIN_ADMIT_SHARE, this.share * 0.75);
        this.adjustedAt = at;
      } else if (lagMs <= this.offMs && this.share < 1) {
        this.share = Math.min(1, this.share + 0.05);
        this.adjustedAt = at;
      }
    }
    if (this.share >= 1) {
      this.credit = 0;
      return undefined;
    }
    this.credit += this.share;
    if (this.credit >= 1) {
      this.credit -= 1;
      return undefined;
    }
    return { lagMs, admitShare: this.share };
  }
}
