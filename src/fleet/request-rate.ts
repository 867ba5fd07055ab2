import type { Clock } from '../core/clock.js';
import type { XksObserver } from '../xks/pipeline-ports.js';

/** Counts answered XKS requests, for the requests/s each node reports in the fleet view. */
export interface RequestRate {
  readonly observer: XksObserver;
  /** Requests per second since the previous sample (the heartbeat samples once per beat). */
  sample(): number;
  /** The last sampled rate. */
  last(): number;
}

export function createRequestRate(clock: Clock): RequestRate {
  let count = 0;
  let since = clock.now();
  let rate = 0;
  return {
    observer: {
      observe() {
        count++;
      },
    },
    sample() {
      const now = clock.now();
      const elapsedMs = now - since;
      if (elapsedMs > 0) rate = Math.round((count * 1000 * 10) / elapsedMs) / 10;
      count = 0;
      since = now;
      return rate;
    },
    last: () => rate,
  };
}
