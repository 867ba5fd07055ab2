/**
 * Latency recording and percentiles for the load generator.
 *
 * Samples go into a preallocated Float64Array (grown by doubling if a phase runs longer than
 * expected), are sorted once at the end, and percentiles use the nearest-rank method: the p-th
 * percentile of n sorted samples is the sample at rank ceil(p/100 · n), 1-based.
 */

export class LatencyRecorder {
  private samples: Float64Array;
  private count = 0;

  constructor(expected: number) {
    this.samples = new Float64Array(Math.max(1024, Math.ceil(expected)));
  }

  record(ms: number): void {
    if (this.count === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.count++] = ms;
  }

  get size(): number {
    return this.count;
  }

  /** Sorts what was recorded (ascending); call once, after the phase. */
  sorted(): Float64Array {
    return this.samples.subarray(0, this.count).sort();
  }
}

/** Nearest-rank percentile of ascending `sorted`; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface LatencySummary {
  count: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  mean_ms: number;
}

export function summarize(recorder: LatencyRecorder): LatencySummary {
  const sorted = recorder.sorted();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    count: sorted.length,
    p50_ms: round(percentile(sorted, 50)),
    p90_ms: round(percentile(sorted, 90)),
    p99_ms: round(percentile(sorted, 99)),
    p999_ms: round(percentile(sorted, 99.9)),
    max_ms: round(sorted.length ? sorted[sorted.length - 1]! : Number.NaN),
    mean_ms: round(sorted.length ? sum / sorted.length : Number.NaN),
  };
}

/** Three decimals (µs resolution) is plenty for milliseconds; NaN stays NaN (serialized as null). */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
