import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { DEFAULT_RESTART_POLICY, type ForkedWorker, type Primary, type PrimaryOptions, type StartedCluster } from './cluster-primary.js';
import { createIpcChannel, type IpcChannel } from './ipc.js';
import type { PrimaryEnd, RenderedMetrics, WorkerNotices } from './protocol.js';

interface Slot {
  index: number;
  worker?: ForkedWorker;
  channel?: IpcChannel<PrimaryEnd>;
  ready: boolean;
  /** The change counter when this worker was forked: changes after it are refreshed once it is ready. */
  forkedAtChange: number;
  restarts: number;
}

/**
 * The primary process of `serve --workers N`: forks the workers, relays "refresh" between them after a
 * management change, restarts a worker that dies (with backoff; a crash loop is fatal), and stops
 * them all on request. It serves nothing itself and opens no root of trust.
 */
export function startPrimary(options: PrimaryOptions): Primary {
  const { logger, clock } = options;
  const policy = options.restart ?? DEFAULT_RESTART_POLICY;
  const slots: Slot[] = Array.from({ length: options.workers }, (_, i) => ({ index: i + 1, ready: false, forkedAtChange: 0, restarts: 0 }));
  const crashes: number[] = [];
  const exits = new Set<Promise<void>>();
  let changes = 0;
  let stopping = false;
  let fatal = false;
  let startedOnce = false;
  let address: StartedCluster | undefined;
  let resolveStarted!: (value: StartedCluster) => void;
  let rejectStarted!: (error: Error) => void;
  const started = new Promise<StartedCluster>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  started.catch(() => undefined);

  const failStart = (message: string) => {
    if (startedOnce) return;
    startedOnce = true;
    rejectStarted(new Error(message));
  };

  /** The workers that serve now, with their channels (all but `except`, when given). */
  const serving = (except?: number): { index: number; channel: IpcChannel<PrimaryEnd> }[] =>
    slots.flatMap((slot) => (slot.ready && slot.channel && slot.index !== except ? [{ index: slot.index, channel: slot.channel }] : []));

  function refreshOthers(origin: number, reason: string): Promise<{ workers: number; refreshed: number }> {
    changes++;
    return Promise.all(
      serving(origin).map((slot) =>
        slot.channel.request('refresh', { reason }, { timeoutMs: options.refreshTimeoutMs ?? 5_000 }).then(
          () => true,
          (error: unknown) => {
            logger.warn({ event: 'worker.refresh_failed', workerIndex: slot.index, err: error }, 'a worker did not confirm a refresh');
            return false;
          },
        ),
      ),
    ).then((results) => ({ workers: slots.length, refreshed: results.filter(Boolean).length }));
  }

  /**
   * Every serving worker's metrics, summed per series by prom-client's AggregatorRegistry (node-wide
   * gauges carry their own aggregator: min, max or first), and the primary's own (ownMetrics). A worker that does not answer in time is
   * left out of this scrape, and says so in the log.
   */
  async function clusterMetrics(): Promise<RenderedMetrics> {
    const gathered = await Promise.all(
      serving().map((slot) =>
        slot.channel.request('metrics', {}, { timeoutMs: 3_000 }).then(
          (reply) => reply.metrics as MetricObjectWithValues<MetricValue<string>>[],
          (error: unknown) => {
            logger.warn(
              { event: 'worker.metrics_failed', workerIndex: slot.index, err: error },
              'a worker did not send its metrics; this scrape leaves it out',
            );
            return undefined;
          },
        ),
      ),
    );
    const own = options.ownMetrics ? [(await options.ownMetrics()) as MetricObjectWithValues<MetricValue<string>>[]] : [];
    const registry = AggregatorRegistry.aggregate([...gathered.filter((metrics) => metrics !== undefined), ...own]);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  function fork(slot: Slot): void {
    const worker = options.fork(slot.index);
    const channel = createIpcChannel<PrimaryEnd>(worker);
    Object.assign(slot, { worker, channel, ready: false, forkedAtChange: changes });
    let failure: WorkerNotices['failed'] | undefined;
    channel.handle('refreshOthers', ({ reason }) => refreshOthers(slot.index, reason));
    channel.handle('clusterMetrics', () => clusterMetrics());
    channel.onNotice('failed', (info) => {
      failure = info;
    });
    channel.onNotice('ready', (info) => {
      slot.ready = true;
      const restarted = slot.restarts > 0;
      logger.info(
        { event: restarted ? 'worker.restarted' : 'worker.ready', workerIndex: slot.index, workerPid: info.pid, nodeId: info.nodeId },
        restarted ? 'worker restarted and serving' : 'worker serving',
      );
      // A change announced while this worker was starting may have been read before it was made.
      if (changes > slot.forkedAtChange) void channel.request('refresh', { reason: 'changes made while starting' }).catch(() => undefined);
      if (!address) address = { url: info.url, adminUrl: info.adminUrl ?? info.url, port: info.port };
      if (!startedOnce && slots.every((s) => s.ready)) {
        startedOnce = true;
        resolveStarted(address);
      }
    });
    const exited = new Promise<void>((resolve) => {
      worker.once('exit', (code, signal) => {
        channel.close('the worker exited');
        slot.ready = false;
        slot.worker = undefined;
        slot.channel = undefined;
        resolve();
        exits.delete(exited);
        if (stopping) return;
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (!startedOnce) {
          failStart(failure?.message ?? `worker ${slot.index} exited (${how}) before it could serve; see the log above`);
          return;
        }
        onCrash(slot, how, failure?.message);
      });
    });
    exits.add(exited);
  }

  function onCrash(slot: Slot, how: string, reason: string | undefined): void {
    const now = clock.now();
    crashes.push(now);
    // Only the crashes within the window count.
    crashes.splice(0, crashes.length, ...crashes.filter((at) => at > now - policy.windowMs));
    if (crashes.length > policy.maxCrashes) {
      logger.error(
        { event: 'worker.crash_loop', workerIndex: slot.index, crashes: crashes.length, windowMs: policy.windowMs },
        'workers keep crashing; stopping',
      );
      if (!fatal) {
        fatal = true;
        const last = reason ? `${how}: ${reason}` : how;
        options.onFatal(
          `workers crashed ${crashes.length} times within ${Math.round(policy.windowMs / 1000)} s (last: worker ${slot.index}, ${last}); stopped, see the log`,
        );
      }
      return;
    }
    const delayMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (crashes.length - 1));
    logger.error(
      { event: 'worker.exited', workerIndex: slot.index, how, reason, restartInMs: delayMs },
      'a worker exited unexpectedly; restarting it',
    );
    slot.restarts++;
    setTimeout(() => {
      if (!stopping && !fatal) fork(slot);
    }, delayMs).unref();
  }

  for (const slot of slots) fork(slot);

  return {
    started,
    async banner() {
      const [slot] = serving();
      if (!slot) throw new Error('no worker is serving');
      return (await slot.channel.request('banner', {})).text;
    },
    workers: () => slots.map((slot) => ({ index: slot.index, pid: slot.worker?.pid, ready: slot.ready, restarts: slot.restarts })),
    async stop() {
      stopping = true;
      failStart('stopped before every worker was serving');
      const pending = [...exits];
      for (const slot of slots) slot.worker?.kill('SIGTERM');
      const timeoutMs = options.stopTimeoutMs ?? 15_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all(pending).then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        for (const slot of slots) {
          if (!slot.worker) continue;
          logger.error({ event: 'worker.killed', workerIndex: slot.index }, `worker did not stop within ${timeoutMs} ms; killed`);
          slot.worker.kill('SIGKILL');
        }
        await Promise.all(pending);
      }
    },
  };
}
