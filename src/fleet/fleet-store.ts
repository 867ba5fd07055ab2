/** One node of a fleet as the fleet table records it. */
export interface NodeRecord {
  id: string;
  hostname: string;
  startedAt: number;
  /** The node's last heartbeat (epoch ms). */
  lastSeenAt: number;
}

/**
 * The fleet's data access: the table every node heartbeats into, so each can count the live nodes
 * (GetHealthStatus `xksProxyFleetSize`). createFleetStore (sql-fleet-store.ts) implements it.
 */
export interface FleetStore {
  /** Records the node (or refreshes its row): its hostname, start and last-seen times. */
  heartbeat(node: NodeRecord): Promise<void>;
  /** Nodes whose last heartbeat is at or after `since` (epoch ms), by id. */
  listNodesSeenSince(since: number): Promise<NodeRecord[]>;
}
