/**
 * Reads the node's Prometheus text (GET /metrics) into the few series the Overview charts: requests by
 * operation, latency quantiles from the histogram's buckets, errors by XKS error name, throttling and
 * the audit queue. Rates and quantiles come from the difference between two scrapes.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One line per sample: `name{a="b",c="d"} 12.5` (comments skipped). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** What one scrape says, summed over keystores. */
export interface Snapshot {
  at: number;
  /** Answers by XKS operation (successes included). */
  requests: Record<string, number>;
  /** Answers by exception name, `None` (success) left out. */
  errors: Record<string, number>;
  throttles: number;
  /** Latency histogram: cumulative count per upper bound (seconds). */
  buckets: Map<number, number>;
  auditQueue: number;
  sealed: number;
  killSwitch: number;
}

function add(into: Record<string, number>, key: string, value: number): void {
  into[key] = (into[key] ?? 0) + value;
}

export function snapshot(samples: Sample[], at: number): Snapshot {
  const shot: Snapshot = { at, requests: {}, errors: {}, throttles: 0, buckets: new Map(), auditQueue: 0, sealed: 0, killSwitch: 0 };
  for (const { name, labels, value } of samples) {
    if (name === 'keyhold_xks_proxy_errors_total') {
      add(shot.requests, labels.xks_operation ?? '?', value);
      if (labels.exception_name && labels.exception_name !== 'None') add(shot.errors, labels.exception_name, value);
    } else if (name === 'keyhold_xks_proxy_throttles_total') shot.throttles += value;
    else if (name === 'keyhold_xks_proxy_latency_seconds_bucket') {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      shot.buckets.set(le, (shot.buckets.get(le) ?? 0) + value);
    } else if (name === 'keyhold_audit_queue_depth') shot.auditQueue += value;
    else if (name === 'keyhold_sealed') shot.sealed = value;
    else if (name === 'keyhold_kill_switch_engaged') shot.killSwitch = value;
  }
  return shot;
}

/** Per-second rate of each key between two snapshots. */
export function rates(before: Record<string, number>, after: Record<string, number>, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) out[key] = Math.max(0, value - (before[key] ?? 0)) / seconds;
  return out;
}

/**
 * The q-quantile (0..1) in milliseconds of the requests answered between two snapshots, interpolated
 * inside its bucket as Prometheus' histogram_quantile does; undefined when none were answered.
 */
export function quantileMs(before: Map<number, number>, after: Map<number, number>, q: number): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => Math.max(0, (after.get(le) ?? 0) - (before.get(le) ?? 0)));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= rank) {
      const upper = bounds[i]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      if (upper === Infinity) return lower * 1000;
      const below = i === 0 ? 0 : counts[i - 1]!;
      const inBucket = counts[i]! - below;
      const fraction = inBucket === 0 ? 1 : (rank - below) / inBucket;
      return (lower + (upper - lower) * fraction) * 1000;
    }
  }
  return undefined;
}
