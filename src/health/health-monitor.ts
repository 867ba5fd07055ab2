import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { DataKey, EkmHealth, RootOfTrust } from '../roots/root-of-trust.js';

export interface HealthMonitorOptions {
  root: RootOfTrust;
  /** Opens the dedicated canary key (never a customer key). */
  canary: () => Promise<DataKey>;
  clock: Clock;
  /** Age after which a cached result is refreshed; at most 60 s. */
  maxAgeMs?: number;
  /** A deep check slower than this counts as UNAVAILABLE. */
  checkTimeoutMs?: number;
}

export interface HealthSnapshot {
  status: EkmHealth;
  checkedAt: number;
  detail?: string;
}

/**
 * Deep health: a real encrypt and decrypt with the canary key through the root of trust, cached.
 *
 *= docs/requirements.md#health
 *# 60. [SHOULD] A 200 means the check reached the key manager and ran cryptography there (deep, not shallow).
 *# 70. [MAY] The deep check runs in the background and the answer uses its cached result.
 *# 71. [MUST] A cached health result is at most one minute old.
 */
export interface HealthMonitor {
  /** The latest result no older than maxAgeMs, running a check (one at a time) when needed. */
  readonly current: () => Promise<HealthSnapshot>;
  /** Forgets the cached result (after a root-of-trust change). */
  readonly invalidate: () => void;
}

export function createHealthMonitor({ root, canary, clock, maxAgeMs = 30_000, checkTimeoutMs = 200 }: HealthMonitorOptions): HealthMonitor {
  if (maxAgeMs > 60_000) throw new RangeError('a cached health result must never be older than one minute');
  let cached: HealthSnapshot | undefined;
  let running: Promise<HealthSnapshot> | undefined;

  async function deepCheck(): Promise<HealthSnapshot> {
    const checkedAt = clock.now();
    const rootState = root.state();
    if (rootState === 'UNAVAILABLE') return { status: 'UNAVAILABLE', checkedAt, detail: 'root of trust unavailable' };
    let timer: NodeJS.Timeout | undefined;
    try {
      const roundTrip = (async () => {
        const key = await canary();
        const probe = randomBytes(32);
        const iv = randomBytes(12);
        const aad = Buffer.from('keyhold-health-canary');
        const { ciphertext, tag } = await key.encrypt(iv, probe, aad);
        const back = await key.decrypt(iv, ciphertext, aad, tag);
        if (!back.equals(probe)) throw new Error('canary round trip returned different bytes');
      })();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`canary round trip took over ${checkTimeoutMs} ms`)), checkTimeoutMs);
      });
      await Promise.race([roundTrip, timeout]);
      return { status: rootState, checkedAt };
    } catch (error) {
      return { status: 'UNAVAILABLE', checkedAt, detail: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async current() {
      if (cached && clock.now() - cached.checkedAt < maxAgeMs) return cached;
      running ??= deepCheck().then((snapshot) => {
        cached = snapshot;
        running = undefined;
        return snapshot;
      });
      return running;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
