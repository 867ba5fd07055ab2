import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { FleetHeartbeat } from './fleet-heartbeat.js';
import type { FleetStore, NodeRecord, NodeReport } from './fleet-store.js';

/** Heartbeats at this interval by default; a node counts as live for three of them. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

/**
 * Records this node in the fleet table every `intervalMs` (once before it resolves), with its address,
 * version and report, and keeps the nodes seen in the last three intervals. A failed beat is logged and
 * the last list kept.
 */
export async function startFleetHeartbeat(options: {
  fleet: FleetStore;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
  version?: string;
  /** The node's HTTPS URL, once it listens (undefined before). */
  address?: () => string | undefined;
  /** What the node reports about itself at each beat. */
  report?: () => Promise<NodeReport>;
}): Promise<FleetHeartbeat> {
  const { fleet, nodeId, clock, logger } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const liveWithinMs = 3 * intervalMs;
  const startedAt = clock.now();
  let live: NodeRecord[] = [];
  const beat = async () => {
    const report = await options.report?.().catch((error: unknown) => {
      logger.warn({ err: error }, 'fleet report failed; heartbeat sent without it');
      return undefined;
    });
    const now = clock.now();
    await fleet.heartbeat({
      id: nodeId,
      hostname: hostname(),
      startedAt,
      lastSeenAt: now,
      address: options.address?.(),
      version: options.version,
      report,
    });
    live = await fleet.listNodesSeenSince(now - liveWithinMs);
  };
  await beat();
  const timer = setInterval(() => {
    beat().catch((error: unknown) => logger.warn({ err: error }, 'fleet heartbeat failed'));
  }, intervalMs);
  timer.unref();
  return {
    fleetSize: () => Math.max(1, live.filter((n) => n.id !== nodeId).length + 1),
    livePeers: () => live.filter((n) => n.id !== nodeId),
    liveWithinMs,
    beat,
    stop: () => clearInterval(timer),
  };
}
