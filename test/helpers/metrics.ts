/**
 * Reads a node's Prometheus exposition (GET /metrics) and finds samples in it, for exact assertions.
 */
import { httpsJson, type JsonResponse } from './https-json.js';
import type { TestNode } from './node-harness.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** GET on the node's HTTPS port outside /api/v1 (/metrics, /healthz, /readyz), with a bearer token when given. */
export function getPath(node: TestNode, path: string, token?: string): Promise<JsonResponse> {
  const headers: Record<string, string> = { host: node.host, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) };
  return httpsJson({ host: '127.0.0.1', port: node.port, path, method: 'GET', ca: node.ca, servername: 'localhost', headers }, {});
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;

/** Every sample line of a text exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL))
      labels[key!] = value!.replace(/\\"/g, '"').replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Metric families the exposition declares (`# TYPE name type`). */
export function declaredMetrics(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1]!, match[2]!);
  return types;
}

/** The samples named `name` whose labels include all of `labels`. */
export function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample named `name` with exactly these labels (0 when it is absent: a counter never incremented). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const matches = samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
  if (matches.length > 1) throw new Error(`${matches.length} samples ${name}${JSON.stringify(labels)}`);
  return matches[0]?.value ?? 0;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** Scrapes /metrics (token optional) and parses it; throws unless the answer is 200. */
export async function scrape(node: TestNode, token?: string): Promise<{ text: string; samples: Sample[] }> {
  const response = await getPath(node, '/metrics', token);
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status} ${response.text}`);
  return { text: response.text, samples: parseExposition(response.text) };
}
