/** A source of monotonic time in milliseconds (performance.now() in production; a manual one in tests). */
export type MonotonicMs = () => number;

export interface TokenRate {
  /** Tokens added per second (may be fractional: 0.5 is one request every two seconds). */
  rps: number;
  /** Most tokens the bucket holds: how many requests may arrive at once after a quiet spell. */
  burst: number;
}

/**
 * A token bucket with continuous refill: it starts full, gains `rps` tokens a second up to `burst`,
 * and each admitted request takes one. Time that runs backwards (a manual source set back) refills nothing.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: TokenRate,
    private readonly now: MonotonicMs,
  ) {
    this.tokens = rate.burst;
    this.last = now();
  }

  /** True when a token is there to take, without taking it. */
  hasToken(): boolean {
    this.refill();
    return this.tokens >= 1;
  }

  /** Takes a token; false (taking nothing) when none is there. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens available now (for tests and diagnostics). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  currentRate(): TokenRate {
    return this.rate;
  }

  /** Changes rate and burst, keeping the tokens already earned (never more than the new burst). */
  setRate(rate: TokenRate): void {
    this.refill();
    this.rate = rate;
    this.tokens = Math.min(this.tokens, rate.burst);
  }

  private refill(): void {
    const now = this.now();
    const elapsedMs = now - this.last;
    this.last = now;
    if (elapsedMs <= 0) return;
    this.tokens = Math.min(this.rate.burst, this.tokens + (elapsedMs * this.rate.rps) / 1000);
  }
}
