import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { FleetHeartbeat } from './fleet-heartbeat.js';
import type { FleetStore } from './fleet-store.js';

/** Heartbeats at this interval by default; a node counts as live for three of them. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

/**
 * Records this node in the fleet table every `intervalMs` (once before it resolves) and counts the
 * nodes seen in the last three intervals. A failed beat is logged and the last count kept.
 */
export async function startFleetHeartbeat(options: {
  fleet: FleetStore;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
}): Promise<FleetHeartbeat> {
  const { fleet, nodeId, clock, logger } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const startedAt = clock.now();
  let size = 1;
  const beat = async () => {
    const now = clock.now();
    await fleet.heartbeat({ id: nodeId, hostname: hostname(), startedAt, lastSeenAt: now });
    size = Math.max(1, (await fleet.listNodesSeenSince(now - 3 * intervalMs)).length);
  };
  await beat();
  const timer = setInterval(() => {
    beat().catch((error: unknown) => logger.warn({ err: error }, 'fleet heartbeat failed'));
  }, intervalMs);
  timer.unref();
  return { fleetSize: () => size, stop: () => clearInterval(timer) };
}
