/**
 * The hot-path counter and histogram render exactly what prom-client's own Counter and Histogram render
 * for the same observations, so Prometheus (and cluster aggregation) cannot tell them apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { HotPathCounter, HotPathHistogram } from '../../src/metrics/hot-path-metrics.js';
import { XKS_LATENCY_BUCKETS } from '../../src/metrics/xks-observer.js';

const OBSERVATIONS: [string, string, number][] = [
  ['demo', 'Encrypt', 0.0004],
  ['demo', 'Encrypt', 0.0005],
  ['demo', 'Encrypt', 0.0012],
  ['demo', 'Decrypt', 0.003],
  ['other', 'Encrypt', 0.2499],
  ['other', 'Encrypt', 0.25],
  ['other', 'Encrypt', 0.7],
  ['demo', 'Encrypt', 3],
];

describe('hot-path metrics', () => {
  it("a histogram renders as prom-client's does: same buckets, boundaries inclusive, +Inf, sum, count", async () => {
    const reference = new Registry();
    const ours = new Registry();
    const theirs = new Histogram({
      name: 'h_seconds',
      help: 'help text',
      labelNames: ['keystore', 'op'],
      buckets: XKS_LATENCY_BUCKETS,
      registers: [reference],
    });
    const mine = new HotPathHistogram('h_seconds', 'help text', ['keystore', 'op'], XKS_LATENCY_BUCKETS, ours);
    for (const [keystore, op, value] of OBSERVATIONS) {
      theirs.labels(keystore, op).observe(value);
      mine.seriesFor([keystore, op]).observe(value);
    }
    assert.equal(await ours.metrics(), await reference.metrics());
  });

  it("a counter renders as prom-client's does", async () => {
    const reference = new Registry();
    const ours = new Registry();
    const theirs = new Counter({ name: 'c_total', help: 'help text', labelNames: ['keystore', 'op'], registers: [reference] });
    const mine = new HotPathCounter('c_total', 'help text', ['keystore', 'op'], ours);
    for (const [keystore, op, value] of OBSERVATIONS) {
      theirs.labels(keystore, op).inc(value);
      mine.seriesFor([keystore, op]).inc(value);
    }
    assert.equal(await ours.metrics(), await reference.metrics());
  });

  it("aggregates across registries (worker processes) like prom-client's own", async () => {
    const workers = [new Registry(), new Registry()];
    const histograms = workers.map((r) => new HotPathHistogram('h_seconds', 'help', ['op'], [0.1, 1], r));
    histograms[0]!.seriesFor(['Encrypt']).observe(0.05);
    histograms[1]!.seriesFor(['Encrypt']).observe(0.5);
    const merged = AggregatorRegistry.aggregate(await Promise.all(workers.map((r) => r.getMetricsAsJSON())));
    const text = await merged.metrics();
    assert.match(text, /^h_seconds_bucket\{le="0.1",op="Encrypt"\} 1$/m);
    assert.match(text, /^h_seconds_bucket\{le="1",op="Encrypt"\} 2$/m);
    assert.match(text, /^h_seconds_count\{op="Encrypt"\} 2$/m);
  });

  it('refuses the wrong number of label values and buckets that do not increase', () => {
    const registry = new Registry();
    const counter = new HotPathCounter('x_total', 'x', ['a', 'b'], registry);
    assert.throws(() => counter.seriesFor(['only-one']), /takes 2 label values, not 1/);
    assert.throws(() => new HotPathHistogram('y', 'y', [], [1, 1], registry), /buckets must increase/);
  });
});
