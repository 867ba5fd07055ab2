import { invalid } from '../core/errors.js';
import type { KeystoreQuota } from '../domain/types.js';

/** Highest quota accepted: far above what one node serves, low enough to catch a typo's extra zeros. */
export const MAX_QUOTA_RPS = 1_000_000;

/**
 * Checks a quota as an operator gave it. `burst` defaults to one second's worth of requests (at least 1).
 * Throws a one-line `invalid` error naming the bad value.
 */
export function validateQuota(input: { rps: unknown; burst?: unknown }): KeystoreQuota {
  const { rps, burst } = input;
  if (typeof rps !== 'number' || !Number.isFinite(rps) || rps <= 0 || rps > MAX_QUOTA_RPS) {
    throw invalid(
      `rps must be a number of requests per second above 0 and at most ${MAX_QUOTA_RPS} (got ${describe(rps)}); to remove a quota, turn it off`,
    );
  }
  if (burst === undefined) return { rps, burst: Math.max(1, Math.ceil(rps)) };
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1 || burst > MAX_QUOTA_RPS) {
    throw invalid(`burst must be a whole number of requests from 1 to ${MAX_QUOTA_RPS} (got ${describe(burst)})`);
  }
  return { rps, burst };
}

const describe = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : String(value));
