import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms for the XKS hot path. prom-client's own spend about a microsecond per call
 * (label validation, a label hash, a bucket lookup by number-to-string key); these keep each series as
 * a plain object the caller holds on to, so counting is an addition and observing a short loop. They are
 * rendered by prom-client: each implements the contract its Registry reads (`name`, `help`, `type`,
 * `aggregator`, `get()`), the same shape as its own metrics, so cluster aggregation works too.
 */
abstract class HotPathMetric<S> {
  readonly aggregator = 'sum';
  private readonly series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    protected readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    // The cast: prom-client types registerMetric with its own classes; the registry reads only the members above.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for these label values (in labelNames order), made once; keep it or look it up again. */
  seriesFor(values: readonly string[]): S {
    const key = values.join('\u0001');
    let series = this.series.get(key);
    if (series === undefined) {
      if (values.length !== this.labelNames.length)
        throw new Error(`${this.name} takes ${this.labelNames.length} label values, not ${values.length}`);
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]!));
      series = this.create(labels);
      this.series.set(key, series);
    }
    return series;
  }

  protected all(): IterableIterator<S> {
    return this.series.values();
  }

  protected abstract create(labels: Record<string, string>): S;
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class HotPathCounter extends HotPathMetric<CounterSeries> {
  readonly type = 'counter';

  protected create(labels: Record<string, string>): CounterSeries {
    return new CounterSeries(labels);
  }

  get() {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.all()].map((s) => ({ labels: s.labels, value: s.value })),
    });
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class HotPathHistogram extends HotPathMetric<HistogramSeries> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
    if (buckets.some((b, i) => b <= (buckets[i - 1] ?? -Infinity))) throw new Error(`${name}: buckets must increase`);
  }

  protected create(labels: Record<string, string>): HistogramSeries {
    return new HistogramSeries(labels, this.buckets);
  }

  /** prom-client's histogram values: cumulative `_bucket` per bound (le first), then `+Inf`, `_sum`, `_count`. */
  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const series of this.all()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += series.counts[i] ?? 0;
        values.push({ labels: { le: bound, ...series.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
