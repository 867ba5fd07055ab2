import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { IpcEndpoint } from './ipc.js';

/**
 * The primary process of `serve --workers N` as its caller sees it (startPrimary in primary.ts makes one):
 * it forks and supervises the workers; it serves nothing itself.
 */
export interface Primary {
  /** Resolves once every worker listens; rejects with the first worker's reason if one cannot start. */
  readonly started: Promise<StartedCluster>;
  /** Asks a ready worker for the text `serve` prints after start. */
  banner(): Promise<string>;
  /** Workers and their pids (for status and tests). */
  workers(): { index: number; pid?: number; ready: boolean; restarts: number }[];
  /** SIGTERM to every worker (in-flight requests finish), SIGKILL after the timeout; no restarts from now on. */
  stop(): Promise<void>;
}

/** A forked worker process as the primary sees it (a `child_process` fork fits; serve adapts a `cluster.Worker`). */
export interface ForkedWorker extends IpcEndpoint {
  readonly pid?: number;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
}

export interface RestartPolicy {
  /** Wait before the first restart of a worker; doubled for each further crash in the window (default 250 ms). */
  initialDelayMs: number;
  /** The longest wait between restarts (default 5 s). */
  maxDelayMs: number;
  /** More crashes than this, all workers together, within `windowMs` end the primary (default 5 in 60 s). */
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 250, maxDelayMs: 5_000, maxCrashes: 5, windowMs: 60_000 };

export interface PrimaryOptions {
  workers: number;
  /** Starts worker `index` (1-based); the process learns its index from the environment. */
  fork(index: number): ForkedWorker;
  logger: Logger;
  clock: Clock;
  restart?: RestartPolicy;
  /** On stop, workers that have not exited this long after SIGTERM are killed (default 15 s). */
  stopTimeoutMs?: number;
  /** How long a refresh of the other workers may take before the admin call returns anyway (default 5 s). */
  refreshTimeoutMs?: number;
  /**
   * Metrics the primary itself keeps (prom-client's JSON, `Registry.getMetricsAsJSON()`), added to every
   * cluster scrape beside the workers' (the scheduled backups' gauges: one schedule, in the primary).
   */
  ownMetrics?: () => Promise<unknown[]>;
  /** A crash loop (or a worker that cannot start after the first start) ends the primary: told here, once. */
  onFatal(message: string): void;
}

export interface StartedCluster {
  url: string;
  /** The admin listener (the same as url in single-listener mode). */
  adminUrl: string;
  port: number;
}
