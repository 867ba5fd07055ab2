import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Store } from '../storage/store.js';

export interface FleetHeartbeat {
  /** Nodes seen in the last three intervals, this one included (≥ 1); read from memory. */
  fleetSize(): number;
  stop(): void;
}

/**
 * Records this node in the fleet table every `intervalMs` and counts the live nodes, so health can
 * report `xksProxyFleetSize` without a database read on the request path.
 */
export async function startFleetHeartbeat(options: {
  store: Store;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
}): Promise<FleetHeartbeat> {
  const { store, nodeId, clock, logger } = options;
  const intervalMs = options.intervalMs ?? 10_000;
  const startedAt = clock.now();
  let size = 1;
  const beat = async () => {
    const now = clock.now();
    await store.heartbeat({ id: nodeId, hostname: hostname(), startedAt, lastSeenAt: now });
    size = Math.max(1, (await store.listNodesSeenSince(now - 3 * intervalMs)).length);
  };
  await beat();
  const timer = setInterval(() => {
    beat().catch((error) => logger.warn({ err: error }, 'fleet heartbeat failed'));
  }, intervalMs);
  timer.unref();
  return { fleetSize: () => size, stop: () => clearInterval(timer) };
}
