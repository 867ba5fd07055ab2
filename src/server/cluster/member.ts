import type { Logger } from 'pino';
import { createIpcChannel, type IpcChannel, type IpcEndpoint } from './ipc.js';
import type { PrimaryRequests, RenderedMetrics, WorkerEnd, WorkerNotices } from './protocol.js';

/**
 * What a node needs to know when it is one worker of `serve --workers N` (startNode's `member`):
 * which worker it is, and how to keep the other workers consistent with changes made through it.
 */
export interface ClusterMember {
  /** 1-based worker number. */
  readonly index: number;
  /** How many workers the primary runs. */
  readonly count: number;
  /** Tells every other worker to refresh; resolves once they have (or the primary stopped waiting). */
  announceChange(reason: string): Promise<void>;
  /** Registers this node's refresh, run when another worker announces a change. */
  onRefresh(refresh: () => Promise<void>): void;
  /** Registers how this worker's metrics are read when the primary gathers them. */
  serveMetrics(collect: () => Promise<unknown[]>): void;
  /** Every worker's metrics, summed by the primary: what GET /metrics answers on any worker. */
  clusterMetrics(): Promise<RenderedMetrics>;
}

export interface WorkerLink {
  member: ClusterMember;
  ready(info: WorkerNotices['ready']): Promise<void>;
  failed(info: WorkerNotices['failed']): Promise<void>;
  /** Answers the primary's requests of one type (e.g. `banner`). */
  handle<K extends keyof PrimaryRequests & string>(
    type: K,
    handler: (body: PrimaryRequests[K]['body']) => Promise<PrimaryRequests[K]['reply']>,
  ): void;
  close(): void;
}

/** A scrape waits at most this long for the primary to gather every worker's metrics. */
const METRICS_TIMEOUT_MS = 5_000;

/**
 * Runs `task` for callers that need a run started after they called: while one run is in flight, every
 * new caller waits for the single next run, so a burst of admin changes costs two refreshes, not one each.
 */
export function coalescing(task: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const run = task().finally(() => {
      if (current === run) current = undefined;
    });
    current = run;
    return run;
  };
  return () => {
    if (!current) return start();
    next ??= current
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}

/**
 * The worker's end of the channel to the primary. A refresh requested before the node registered its
 * refresh (it is still starting, and will load everything fresh anyway) is answered at once.
 */
export function joinCluster(options: {
  index: number;
  count: number;
  endpoint: IpcEndpoint;
  logger: Logger;
  refreshTimeoutMs?: number;
}): WorkerLink {
  const { index, count, logger } = options;
  const channel: IpcChannel<WorkerEnd> = createIpcChannel<WorkerEnd>(options.endpoint);
  let refresh: (() => Promise<void>) | undefined;
  channel.handle('refresh', async ({ reason }) => {
    if (refresh) {
      await refresh();
      logger.debug({ event: 'worker.refreshed', reason }, 'refreshed after a change made through another worker');
    }
    return { refreshed: true };
  });
  const member: ClusterMember = {
    index,
    count,
    async announceChange(reason) {
      try {
        const result = await channel.request('refreshOthers', { reason }, { timeoutMs: options.refreshTimeoutMs ?? 10_000 });
        if (result.refreshed < result.workers - 1) {
          logger.warn(
            { event: 'worker.refresh_incomplete', ...result },
            'not every other worker confirmed the refresh; the rest catch up on their next scheduler pass',
          );
        }
      } catch (error) {
        logger.warn(
          { event: 'worker.refresh_failed', err: error },
          'could not reach the primary to refresh the other workers; they catch up on their next scheduler pass',
        );
      }
    },
    onRefresh(handler) {
      refresh = coalescing(handler);
    },
    serveMetrics(collect) {
      channel.handle('metrics', async () => ({ metrics: await collect() }));
    },
    clusterMetrics: () => channel.request('clusterMetrics', {}, { timeoutMs: METRICS_TIMEOUT_MS }),
  };
  return {
    member,
    ready: (info) => channel.notify('ready', info),
    failed: (info) => channel.notify('failed', info),
    handle: (type, handler) => channel.handle(type, handler),
    close: () => channel.close(),
  };
}
