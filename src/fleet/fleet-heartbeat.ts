/**
 * This node's membership of its fleet: it records itself in the fleet table at an interval and keeps
 * the count of live nodes in memory, so health reports `xksProxyFleetSize` without a database read on
 * the request path. startFleetHeartbeat (heartbeat.ts) starts one.
 */
export interface FleetHeartbeat {
  /** Nodes seen in the last three intervals, this one included (≥ 1); read from memory. */
  fleetSize(): number;
  /** Stops the heartbeat timer. */
  stop(): void;
}
