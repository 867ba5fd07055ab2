/**
 * dashboards/grafana-keyhold.json against a real node: every metric its PromQL names is in the node's
 * /metrics output, and every label it filters or groups on exists on that metric, so renaming either
 * breaks this test rather than a panel in production.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { registerBackupMetrics } from '../../src/metrics/backup-metrics.js';
import { declaredMetrics, scrape, type Sample } from '../helpers/metrics.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, encryptBody, healthBody, metadata, xks } from '../helpers/xks-client.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; datasource?: { uid: string } }[];
}

const dashboard = JSON.parse(readFileSync(join(ROOT, 'dashboards', 'grafana-keyhold.json'), 'utf8')) as {
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: { name: string; definition?: string; datasource?: { uid: string } }[] };
  panels: Panel[];
};

const queries = (): string[] => [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
];

/** Names a series of a histogram may carry beyond its family name. */
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

describe('the Grafana dashboard', () => {
  let node: TestNode;
  let exposed: Set<string>;
  let samples: Sample[];

  before(async () => {
    node = await startTestNode();
    // Scheduled backups' gauges, as `serve --backup-dir` registers them (src/cli/commands/serve-backups.ts).
    registerBackupMetrics(node.node.metricsRegistry, { lastSuccess: () => Date.now(), failures: () => 0 });
    // Traffic of every kind the dashboard shows, so labelled series exist to check labels against.
    await admin(node, 'POST', '/policies', {
      name: 'deny-intruder',
      attach: { keystore: 'demo' },
      rules: [{ id: 'intruder', effect: 'deny', principal: ['arn:aws:iam::444455556666:role/intruder'] }],
    });
    await xks(node, { operation: 'health', body: healthBody() });
    await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(16)) });
    await xks(node, {
      operation: 'encrypt',
      body: {
        ...encryptBody(randomBytes(16)),
        requestMetadata: metadata('Encrypt', { awsPrincipalArn: 'arn:aws:iam::444455556666:role/intruder' }),
      },
    });
    await xks(node, {
      operation: 'encrypt',
      body: encryptBody(randomBytes(16)),
      credential: { accessKeyId: node.credential.accessKeyId, secret: randomBytes(32).toString('base64') },
    });
    const scraped = await scrape(node, node.adminToken);
    samples = scraped.samples;
    exposed = new Set(samples.map((s) => s.name));
    for (const [name, type] of declaredMetrics(scraped.text)) {
      exposed.add(name);
      if (type === 'histogram') for (const suffix of HISTOGRAM_SUFFIXES) exposed.add(name + suffix);
    }
  });
  after(() => node.close());

  it('is importable: a ${DS_PROMETHEUS} input every panel uses, a keystore variable, unique panel ids, a grid position each', () => {
    assert.deepEqual(
      dashboard.__inputs.map((i) => [i.name, i.type, i.pluginId]),
      [['DS_PROMETHEUS', 'datasource', 'prometheus']],
    );
    const keystore = dashboard.templating.list.find((v) => v.name === 'keystore');
    assert.equal(keystore?.datasource?.uid, '${DS_PROMETHEUS}');
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const panel of dashboard.panels) {
      assert.ok(panel.gridPos && panel.gridPos.w > 0 && panel.gridPos.h > 0, panel.title);
      if (panel.type === 'row') continue;
      assert.equal(panel.datasource?.uid, '${DS_PROMETHEUS}', panel.title);
      assert.ok(panel.targets && panel.targets.length > 0, `${panel.title} has a query`);
      for (const target of panel.targets) assert.equal(target.datasource?.uid, '${DS_PROMETHEUS}', panel.title);
    }
  });

  it("every metric its queries name is in a real node's /metrics output", () => {
    const used = new Set(queries().flatMap((q) => [...q.matchAll(/\bkeyhold_[a-z0-9_]+/g)].map((m) => m[0])));
    assert.ok(used.size >= 15, `only ${used.size} metrics used`);
    const missing = [...used].filter((name) => !exposed.has(name));
    assert.deepEqual(missing, [], 'metrics the dashboard queries but the node does not expose');
  });

  it('every label a query filters on exists on its metric (when the node has a series of it)', () => {
    for (const query of queries()) {
      for (const [, metric, matchers] of query.matchAll(/\b(keyhold_[a-z0-9_]+)\{([^}]*)\}/g)) {
        const series = samples.filter((s) => s.name === metric);
        if (series.length === 0) continue;
        const labels = new Set(series.flatMap((s) => Object.keys(s.labels)));
        for (const [, label] of matchers!.matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g))
          assert.ok(labels.has(label!), `${metric} has no label ${label} (${query})`);
      }
    }
  });

  it('the reliability, latency and certificate panels carry the docs/kms-client.md#metrics thresholds (250 ms line, 10 days)', () => {
    const byTitle = (title: string) =>
      dashboard.panels.find((p) => p.title === title) as Panel & {
        fieldConfig: { defaults: { thresholds: { steps: { value: number | null }[] } } };
      };
    const latency = byTitle('Latency p99 by operation');
    assert.ok(latency.targets![0]!.expr.startsWith('histogram_quantile(0.99,'));
    assert.ok(latency.fieldConfig.defaults.thresholds.steps.some((s) => s.value === 0.25));
    assert.ok(byTitle('Latency p99.9 by operation').targets![0]!.expr.startsWith('histogram_quantile(0.999,'));
    assert.ok(byTitle('Certificate days to expire').fieldConfig.defaults.thresholds.steps.some((s) => s.value === 10));
    assert.match(byTitle('Reliability').targets![0]!.expr, /error_type!="retryable"/);
  });
});
