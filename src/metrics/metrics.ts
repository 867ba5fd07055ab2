import type { Registry } from 'prom-client';
import type { XksObserver } from '../xks/pipeline-ports.js';
import type { NodeStateSources } from './node-state.js';

/**
 * The node's Prometheus metrics (docs/metrics.md): the process's own (event-loop lag, GC, memory, CPU),
 * the XKS data plane per request, the audit log's commits, and the node's state at scrape time.
 * createMetrics (create-metrics.ts) makes a node's.
 */
export interface Metrics {
  /** This node's registry (never prom-client's global one). */
  registry: Registry;
  /** Given to the XKS handler: counts and times each answered request. */
  xksObserver: XksObserver;
  /** Given to the audit log: one committed batch, how long its commit took and how many events it held. */
  observeAuditCommit(latencyMs: number, events: number): void;
  /** Adds the gauges read from the node's state at scrape time (once the node's parts exist). */
  watchNode(sources: NodeStateSources): void;
  /** The Prometheus text exposition, and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}
