import type { RenderedMetrics } from './protocol.js';

/**
 * What a node needs to know when it is one worker of `serve --workers N` (startNode's `member`):
 * which worker it is, and how to keep the other workers consistent with changes made through it.
 * joinCluster (member.ts) makes one over the IPC channel to the primary.
 */
export interface ClusterMember {
  /** 1-based worker number. */
  readonly index: number;
  /** How many workers the primary runs. */
  readonly count: number;
  /** Tells every other worker to refresh; resolves once they have (or the primary stopped waiting). */
  announceChange(reason: string): Promise<void>;
  /**
   * Registers this node's refresh, run when another worker announces a change. Requests may overlap (a
   * burst of admin changes), so the refresh must be safe to call concurrently (refreshLiveState coalesces).
   */
  onRefresh(refresh: () => Promise<void>): void;
  /** Registers how this worker's metrics are read when the primary gathers them. */
  serveMetrics(collect: () => Promise<unknown[]>): void;
  /** Every worker's metrics, summed by the primary: what GET /metrics answers on any worker. */
  clusterMetrics(): Promise<RenderedMetrics>;
}
