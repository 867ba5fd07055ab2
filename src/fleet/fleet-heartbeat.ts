import type { NodeRecord } from './fleet-store.js';

/**
 * This node's membership of its fleet: it records itself (with its report) in the fleet table at an
 * interval and keeps the live nodes in memory, so health reports `xksProxyFleetSize` and every live node's
 * `ekmFleetDetails` entry without a database read on the request path. startFleetHeartbeat (heartbeat.ts)
 * starts one.
 */
export interface FleetHeartbeat {
  /** Nodes seen in the last three intervals, this one included (≥ 1); read from memory. */
  fleetSize(): number;
  /** The other nodes seen in the last three intervals, as of the last heartbeat (memory). */
  livePeers(): NodeRecord[];
  /** A node counts as live while its last heartbeat is at most this old. */
  readonly liveWithinMs: number;
  /** Beats now (e.g. once the node listens, so its address is recorded at once). */
  beat(): Promise<void>;
  /** Stops the heartbeat timer. */
  stop(): void;
}
