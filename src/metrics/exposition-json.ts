/**
 * The Prometheus text exposition as JSON samples, for clients that are not Prometheus (the web console's
 * overview charts, GET /api/v1/metrics): the same figures /metrics serves, with no text format to parse
 * in a browser. Counters and histograms stay cumulative, as in Prometheus; a client takes two samples and
 * divides the differences by the time between them (docs/metrics.md#json).
 */

/** One sample: a metric (histograms as `_bucket` / `_sum` / `_count`), its labels and its value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  /** null for NaN; ±Infinity as the strings '+Inf' / '-Inf' have no JSON number. */
  value: number | string | null;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
// name="value" with the exposition's escapes (\\, \" and \n) inside the quotes.
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

const unescape = (text: string) => text.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));

function sampleValue(text: string): MetricSample['value'] {
  if (text === '+Inf' || text === '-Inf') return text;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

/** Every sample line of a text exposition (comments and blank lines skipped), in order. */
export function expositionSamples(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, label = '', raw = ''] of labelText.matchAll(LABEL)) labels[label] = unescape(raw);
    samples.push({ name, labels, value: sampleValue(value) });
  }
  return samples;
}
