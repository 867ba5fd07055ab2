import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { KEYHOLD_VERSION } from '../core/version.js';
import { startChangeFollower, type ChangeFollower } from '../fleet/change-follower.js';
import type { ChangeStore } from '../fleet/change-store.js';
import type { FleetHeartbeat } from '../fleet/fleet-heartbeat.js';
import type { NodeReport } from '../fleet/fleet-store.js';
import { createFleetView, type FleetView } from '../fleet/fleet-view.js';
import { startFleetHeartbeat } from '../fleet/heartbeat.js';
import type { RefreshLiveState } from '../fleet/refresh-live-state.js';
import { createRequestRate, type RequestRate } from '../fleet/request-rate.js';
import { createFleetStore } from '../fleet/sql-fleet-store.js';
import type { EkmHealth } from '../roots/root-of-trust.js';
import { listenToChannel } from '../storage/pg-listener.js';
import type { NodeOptions } from './running-node.js';
import type { Services } from './services.js';

/** The PostgreSQL channel the change triggers notify (migration 0008_changes). */
const CHANGES_CHANNEL = 'keyhold_changes';

/** A node's part in its fleet: following the change sequence, heartbeating its report, the fleet view. */
export interface FleetMembership {
  propagation: ChangeFollower;
  heartbeat: FleetHeartbeat;
  view: () => Promise<FleetView>;
  /** Counts answered XKS requests (an XKS observer) for the report's requests/s. */
  requestRate: RequestRate;
  /** The answering node's GetHealthStatus entry id. */
  ekmId: string;
  /** Records where the node serves, once it listens, and heartbeats at once. */
  served(url: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts following the fleet's changes (docs/fleet.md#propagation: PostgreSQL LISTEN with a safety poll,
 * or polling on SQLite and while the listener is down; every change applied through `refresh`), then the
 * heartbeat that records this node's report. `startAfterId` is the sequence id read before the live
 * state was loaded.
 */
export async function startFleetMembership(options: {
  nodeId: string;
  services: Services;
  settings: Pick<NodeOptions, 'databaseUrl' | 'heartbeatIntervalMs' | 'propagation'>;
  changes: ChangeStore;
  startAfterId: number;
  refresh: RefreshLiveState;
  clock: Clock;
  logger: Logger;
  sealed: () => boolean;
  ekmHealth: () => Promise<EkmHealth>;
  audit: () => { queued: number; spooled: number };
  /** This node's peer-unseal URL once it listens (serve --peer-unseal). */
  peerUnsealUrl?: () => string | undefined;
}): Promise<FleetMembership> {
  const { nodeId, services, settings, changes, clock, logger } = options;
  const databaseUrl = services.database.dialect === 'postgres' ? settings.databaseUrl : undefined;
  const propagation = startChangeFollower({
    changes,
    refresh: options.refresh,
    clock,
    logger,
    startAfterId: options.startAfterId,
    openNotifier: databaseUrl
      ? (handlers) =>
          listenToChannel({
            url: databaseUrl,
            channel: CHANGES_CHANNEL,
            retryMs: settings.propagation?.listenerRetryMs,
            handlers: {
              onNotification: () => handlers.notified(),
              onUp: () => handlers.listenerUp(),
              onDown: (reason) => handlers.listenerDown(reason),
            },
          })
      : undefined,
    safetyPollMs: settings.propagation?.safetyPollMs,
    fastPollMs: settings.propagation?.fastPollMs,
  });

  const requestRate = createRequestRate(clock);
  const ekmId = `keyhold-${nodeId.slice(0, 8)}`;
  const report = async (): Promise<NodeReport> => {
    const { mode, listening, appliedId, lastLagMs } = propagation.status();
    const peerUnsealUrl = options.peerUnsealUrl?.();
    return {
      sealed: options.sealed(),
      rootOfTrust: { kind: services.root.kind, state: services.root.state() },
      ekm: { id: ekmId, model: services.root.model, healthStatus: await options.ekmHealth() },
      audit: options.audit(),
      propagation: { mode, listening, appliedId, ...(lastLagMs === undefined ? {} : { lastLagMs }) },
      requestsPerSecond: requestRate.last(),
      ...(peerUnsealUrl === undefined ? {} : { peerUnsealUrl }),
    };
  };
  const served: { url?: string } = {};
  const fleetStore = createFleetStore(services.database);
  let heartbeat: FleetHeartbeat;
  try {
    heartbeat = await startFleetHeartbeat({
      fleet: fleetStore,
      nodeId,
      clock,
      logger,
      intervalMs: settings.heartbeatIntervalMs,
      version: KEYHOLD_VERSION,
      address: () => served.url,
      report: () => {
        requestRate.sample();
        return report();
      },
    });
  } catch (error) {
    await propagation.stop();
    throw error;
  }
  const view = createFleetView({
    fleet: fleetStore,
    changes,
    clock,
    selfId: nodeId,
    liveWithinMs: heartbeat.liveWithinMs,
    selfReport: report,
  });
  return {
    propagation,
    heartbeat,
    view,
    requestRate,
    ekmId,
    async served(url) {
      served.url = url;
      await heartbeat.beat().catch((error: unknown) => logger.warn({ err: error }, 'fleet heartbeat failed'));
    },
    async stop() {
      heartbeat.stop();
      await propagation.stop();
    },
  };
}
