import type { Clock } from '../core/clock.js';

/**
 * Slows password guessing: at most `maxFailures` failed logins per user name in a sliding `windowMs`
 * (per node, in memory). A successful login clears the user's count.
 */
export function createLoginLimiter({
  clock,
  maxFailures = 5,
  windowMs = 60_000,
}: {
  clock: Clock;
  maxFailures?: number;
  windowMs?: number;
}) {
  const failures = new Map<string, number[]>();
  const recent = (user: string) => (failures.get(user) ?? []).filter((at) => at > clock.now() - windowMs);
  return {
    /** Milliseconds until the user may try again, or 0. */
    retryAfterMs(user: string): number {
      const times = recent(user);
      if (times.length < maxFailures) return 0;
      const oldestCounted = times[times.length - maxFailures];
      return oldestCounted === undefined ? 0 : oldestCounted + windowMs - clock.now();
    },
    failed(user: string): void {
      const times = recent(user);
      times.push(clock.now());
      failures.set(user, times);
      // Bounded memory: forget the oldest entries if someone sprays user names.
      if (failures.size > 10_000) {
        const oldest = failures.keys().next();
        if (!oldest.done) failures.delete(oldest.value);
      }
    },
    succeeded(user: string): void {
      failures.delete(user);
    },
  };
}
