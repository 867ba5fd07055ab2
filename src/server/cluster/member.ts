import type { Logger } from 'pino';
import { createIpcChannel, type IpcChannel, type IpcEndpoint } from './ipc.js';
import type { ClusterMember } from './cluster-member.js';
import type { WorkerEnd } from './protocol.js';
import type { WorkerLink } from './worker-link.js';

/** A scrape waits at most this long for the primary to gather every worker's metrics. */
const METRICS_TIMEOUT_MS = 5_000;

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
      refresh = handler;
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
