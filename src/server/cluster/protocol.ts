/**
 * The messages between the primary of `serve --workers N` and its workers (carried by ipc.ts).
 * To add one (e.g. the primary asking each worker for its metrics to aggregate), add an entry here and
 * a `handle` on the receiving side.
 */

/** What a worker asks the primary. */
export type WorkerRequests = {
  /** A management change landed on this worker: every other worker refreshes before the admin call returns. */
  refreshOthers: { body: { reason: string }; reply: { workers: number; refreshed: number } };
  /** GET /metrics landed on this worker: the primary gathers every worker's metrics and sums them. */
  clusterMetrics: { body: Record<string, never>; reply: RenderedMetrics };
};

/** A Prometheus text exposition and its content type. */
export interface RenderedMetrics {
  contentType: string;
  body: string;
}

/** What a worker tells the primary. */
export type WorkerNotices = {
  /** The worker's node is listening. */
  /** adminUrl: the admin listener, when it is not `url` (split mode). */
  ready: { url: string; adminUrl?: string; port: number; pid: number; nodeId: string };
  /** The worker could not start; it exits with `exitCode` after sending this (the primary reports the line). */
  failed: { message: string; exitCode: number };
};

/** What the primary asks a worker. */
export type PrimaryRequests = {
  /** Re-read keystores, credentials, keys, policies and the kill switch from the database. */
  refresh: { body: { reason: string }; reply: { refreshed: true } };
  /** The "how to call me" text `serve` prints after start (it needs a worker's live state). */
  banner: { body: Record<string, never>; reply: { text: string } };
  /** This worker's metrics as prom-client's JSON (`Registry.getMetricsAsJSON()`), for AggregatorRegistry. */
  metrics: { body: Record<string, never>; reply: { metrics: unknown[] } };
};

/** What the primary tells a worker (nothing yet). */
export type PrimaryNotices = Record<string, never>;

export type WorkerEnd = {
  sendsRequests: WorkerRequests;
  sendsNotices: WorkerNotices;
  handlesRequests: PrimaryRequests;
  handlesNotices: PrimaryNotices;
};

export type PrimaryEnd = {
  sendsRequests: PrimaryRequests;
  sendsNotices: PrimaryNotices;
  handlesRequests: WorkerRequests;
  handlesNotices: WorkerNotices;
};

/** The environment variable that tells a forked process which worker it is (1-based). */
export const WORKER_INDEX_ENV = 'KEYHOLD_WORKER_INDEX';
