import type { Clock } from '../core/clock.js';
import type { LoginAttemptStore } from './login-attempt-store.js';

export interface LoginLimiter {
  /**
   * Counts a login attempt for `user` before its password is checked, and answers how many milliseconds
   * the user must wait (0: go on). Counting first, in one atomic database statement, bounds guessing even
   * when many guesses arrive at once, on one node or across a fleet.
   */
  attempt(user: string): Promise<number>;
  /** A successful login clears the user's count. */
  succeeded(user: string): Promise<void>;
}

/**
 * Slows password guessing: at most `maxFailures` login attempts per user name in a `windowMs` window that
 * opens with the first attempt, counted in the database (LoginAttemptStore), so the limit is fleet-wide.
 * A successful login clears the count; so does the window ending.
 */
export function createLoginLimiter({
  store,
  clock,
  maxFailures = 5,
  windowMs = 60_000,
}: {
  store: LoginAttemptStore;
  clock: Clock;
  maxFailures?: number;
  windowMs?: number;
}): LoginLimiter {
  let lastPrune = clock.now();
  return {
    async attempt(user) {
      const now = clock.now();
      // Bounded table: windows over for a while are deleted, at most once a window per node.
      if (now - lastPrune >= windowMs) {
        lastPrune = now;
        await store.prune(now - windowMs);
      }
      const { attempts, windowStart } = await store.countAttempt(user, now, windowMs);
      return attempts <= maxFailures ? 0 : Math.max(1, windowStart + windowMs - now);
    },
    succeeded: (user) => store.clear(user),
  };
}
