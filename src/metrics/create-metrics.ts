import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Metrics } from './metrics.js';
import { registerNodeState } from './node-state.js';
import { createXksRequestMetrics } from './xks-observer.js';

/** Audit commits take from well under a millisecond (SQLite, writer thread) to tens of ms (a remote PostgreSQL). */
export const AUDIT_COMMIT_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A node's metrics on a registry of its own (never prom-client's global one). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'keyhold_' });
  const registers = [registry];
  const commitLatency = new Histogram({
    name: 'keyhold_audit_commit_latency_seconds',
    help: 'Time to commit one batch of audit events (one transaction, fsync included)',
    buckets: AUDIT_COMMIT_BUCKETS,
    registers,
  });
  const committedEvents = new Counter({
    name: 'keyhold_audit_committed_events_total',
    help: 'Audit events committed to the database (spool replays included)',
    registers,
  });
  return {
    registry,
    xksObserver: createXksRequestMetrics(registry),
    observeAuditCommit(latencyMs, events) {
      commitLatency.observe(latencyMs / 1000);
      committedEvents.inc(events);
    },
    watchNode: (sources) => registerNodeState(registry, sources),
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
