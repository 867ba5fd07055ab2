import cluster from 'node:cluster';
import { Registry } from 'prom-client';
import { rmSync } from 'node:fs';
import { KEYHOLD_VERSION } from '../../core/version.js';
import { readRootConfig } from '../../roots/root-config.js';
import type { IpcEndpoint } from '../../server/cluster/ipc.js';
import { joinCluster } from '../../server/cluster/member.js';
import { startPrimary } from '../../server/cluster/primary.js';
import { WORKER_INDEX_ENV } from '../../server/cluster/protocol.js';
import { dataDirPaths } from '../../core/data-dir.js';
import { DEMO_KEY, DEMO_KEYSTORE, initDataDir } from '../../server/init.js';
import { createLogger, flushLogger } from '../../server/logger.js';
import { startNode, writeNodeInfo } from '../../server/node.js';
import type { NodeOptions } from '../../server/running-node.js';
import { openDatabase } from '../../storage/open-database.js';
import { CliError, errorMessage } from '../cli-error.js';
import type { BackupSchedule } from '../../backup/schedule.js';
import { scheduleBackups, type BackupSettings } from './serve-backups.js';
import { stopOnSignals } from '../shutdown.js';
import { consoleBanner, display, firstRunBanner, laterRunBanner, servingLine } from '../quickstart-banner.js';

/** How `serve` starts a node, alone or as each worker (the throttle applies per worker: docs/throttling.md). */
export type ServedNodeSettings = Pick<
  NodeOptions,
  | 'dataDir'
  | 'host'
  | 'port'
  | 'databaseUrl'
  | 'clock'
  | 'audit'
  | 'throttle'
  | 'metricsPublic'
  | 'mutualTls'
  | 'adminListener'
  | 'transport'
  | 'idleTimeoutMs'
>;

export interface ClusterServeSettings {
  node: ServedNodeSettings;
  firstRun: boolean;
  logLevel: string;
  workers: number;
  /** Turns a start-up failure into the line the operator sees (e.g. the port is taken). */
  startFailure(error: unknown): Error;
  /** `--backup-dir …`: one schedule, run by the primary (docs/backup.md#scheduled). */
  backups?: BackupSettings;
}

/** This process's worker number when it was forked by a `serve --workers N` primary. */
export function workerIndex(): number | undefined {
  const value = process.env[WORKER_INDEX_ENV];
  return cluster.isWorker && value !== undefined ? Number(value) : undefined;
}

/**
 * The primary of `serve --workers N`: prepares the data directory and the database schema once (so
 * workers never race on init or migrations), forks the workers, prints the banner once they all listen,
 * and stops them on SIGTERM/SIGINT. See docs/workers.md.
 */
export async function serveAsPrimary(settings: ClusterServeSettings): Promise<void> {
  const { workers } = settings;
  const { dataDir, databaseUrl, clock } = settings.node;
  const paths = dataDirPaths(dataDir);
  if (!settings.firstRun && readRootConfig(paths.rootConfig).kind === 'shamir') {
    throw new CliError(
      `--workers ${workers} cannot serve a Shamir-sealed node: every worker would need the custodians' shares (and again after each restart); serve it with --workers 1 (docs/workers.md)`,
      2,
    );
  }
  const initResult = settings.firstRun ? await initDataDir({ dataDir, databaseUrl, demo: true, clock }) : undefined;
  const logger = createLogger({ level: settings.logLevel, worker: 'primary' });
  const cleanUp = () => {
    // A first run that cannot serve leaves nothing behind, so the next try shows the secret again.
    if (initResult) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // Migrations run here, once; each worker then finds the schema current.
    if (!initResult) await (await openDatabase({ databaseUrl, sqlitePath: paths.database })).close();
  } catch (error) {
    throw settings.startFailure(error);
  }

  let fatal = false;
  // Scheduled backups: one schedule for the whole set of workers, here; its gauges join every cluster scrape.
  const backupRegistry = settings.backups ? new Registry() : undefined;
  const primary = startPrimary({
    workers,
    logger,
    clock,
    ownMetrics: backupRegistry && (() => backupRegistry.getMetricsAsJSON()),
    fork: (index) => {
      const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
      return {
        pid: worker.process.pid,
        kill: (signal) => worker.process.kill(signal),
        send: (message, callback) => {
          // The IPC channel only ever sends envelope objects (src/server/cluster/ipc.ts).
          if (typeof message !== 'object' || message === null) throw new TypeError('an IPC message must be an object');
          return worker.send(message, callback);
        },
        on: (event, listener) => worker.on(event, listener),
        off: (event, listener) => worker.off(event, listener),
        once: (event, listener) => worker.once(event, listener),
      };
    },
    onFatal: (message) => {
      fatal = true;
      void primary.stop().then(async () => {
        await flushLogger(logger);
        console.error(`keyhold: ${message}`);
        process.exit(1);
      });
    },
  });
  let started;
  try {
    started = await primary.started;
  } catch (error) {
    await primary.stop();
    await flushLogger(logger);
    cleanUp();
    throw new CliError(errorMessage(error));
  }
  let schedule: BackupSchedule | undefined;
  if (settings.backups && backupRegistry) {
    try {
      schedule = await scheduleBackups({ registry: backupRegistry, settings: settings.backups, dataDir, databaseUrl, clock, logger });
    } catch (error) {
      await primary.stop();
      await flushLogger(logger);
      throw error;
    }
  }
  writeNodeInfo(paths.nodeInfo, {
    adminUrl: started.adminUrl,
    xksUrl: started.url,
    pid: process.pid,
    startedAt: new Date(clock.now()).toISOString(),
  });
  console.log(`Keyhold v${KEYHOLD_VERSION} ${servingLine(started)} with ${workers} worker processes (data: ${display(dataDir)})`);
  console.log(initResult ? firstRunBanner(initResult, started.url) : await primary.banner());
  console.log(consoleBanner(started.adminUrl, paths));

  // SIGHUP: every worker reads the TLS certificate and key again.
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  stopOnSignals({
    logger,
    message: 'shutting down the workers',
    close: () => {
      schedule?.close();
      return primary.stop().then(() => flushLogger(logger));
    },
    skip: () => fatal,
  });
}

/** This worker's end of the IPC channel to the primary (`process.send` exists in a forked worker). */
function channelToPrimary(): IpcEndpoint {
  const send = process.send?.bind(process);
  if (!send) throw new CliError('a serve worker needs the IPC channel of the primary that forked it');
  return {
    send: (message, callback) => send(message, undefined, undefined, callback),
    on: (event, listener) => process.on(event, listener),
    off: (event, listener) => process.off(event, listener),
  };
}

/**
 * One worker of `serve --workers N`: a full node (startNode) on the shared port, with its own node id,
 * audit chain and heartbeat, linked to the primary for refreshes after management changes.
 */
export async function serveAsWorker(settings: Omit<ClusterServeSettings, 'firstRun'> & { index: number }): Promise<void> {
  const { index } = settings;
  const logger = createLogger({ level: settings.logLevel, worker: index });
  const link = joinCluster({ index, count: settings.workers, endpoint: channelToPrimary(), logger });
  let node;
  try {
    node = await startNode({ ...settings.node, logger, member: link.member });
  } catch (error) {
    const failure = settings.startFailure(error);
    logger.error({ event: 'worker.start_failed', err: error }, 'worker could not start');
    await flushLogger(logger);
    await link.failed({ message: failure.message, exitCode: failure instanceof CliError ? failure.exitCode : 1 });
    process.exit(failure instanceof CliError ? failure.exitCode : 1);
  }
  const running = node;
  link.handle('banner', () =>
    Promise.resolve({
      text: laterRunBanner(dataDirPaths(settings.node.dataDir), running.services.live, running.url, {
        keystore: DEMO_KEYSTORE,
        key: DEMO_KEY,
      }),
    }),
  );
  await link.ready({ url: running.url, adminUrl: running.adminUrl, port: running.port, pid: process.pid, nodeId: running.nodeId });

  process.on('SIGHUP', () => {
    running.reloadTls();
  });
  // The primary sends SIGTERM to each worker when it stops.
  stopOnSignals({ logger, message: 'worker shutting down', close: () => running.close().then(() => flushLogger(logger)) });
  // Should the primary die, Node's cluster module ends its workers (they never serve unsupervised).
}
