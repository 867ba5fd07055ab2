import type { EkmHealth } from '../roots/root-of-trust.js';

/** What a node reports about itself at each heartbeat (the fleet view, and its peers' GetHealthStatus). */
export interface NodeReport {
  sealed: boolean;
  rootOfTrust: { kind: string; state: EkmHealth };
  /** Its GetHealthStatus entry: `id`, `model` and the cached deep check's `healthStatus`. */
  ekm: { id: string; model: string; healthStatus: EkmHealth };
  audit: { queued: number; spooled: number };
  propagation: { mode: 'listen' | 'poll'; listening: boolean; appliedId: number; lastLagMs?: number };
  /** XKS requests answered per second since the previous heartbeat. */
  requestsPerSecond: number;
  /** Where a sealed peer asks this node for the root (serve --peer-unseal, docs/fleet.md#unseal); absent when off. */
  peerUnsealUrl?: string;
}

/** One node of a fleet as the fleet table records it. */
export interface NodeRecord {
  id: string;
  hostname: string;
  startedAt: number;
  /** The node's last heartbeat (epoch ms). */
  lastSeenAt: number;
  /** Where it serves (its HTTPS URL); absent for nodes of a version before the fleet view. */
  address?: string;
  version?: string;
  report?: NodeReport;
}

/**
 * The fleet's data access: the table every node heartbeats into, so each can count the live nodes
 * (GetHealthStatus `xksProxyFleetSize`) and show the fleet. createFleetStore (sql-fleet-store.ts) implements it.
 */
export interface FleetStore {
  /** Records the node (or refreshes its row): hostname, start and last-seen times, address, version, report. */
  heartbeat(node: NodeRecord): Promise<void>;
  /** Nodes whose last heartbeat is at or after `since` (epoch ms), by id. */
  listNodesSeenSince(since: number): Promise<NodeRecord[]>;
  /** Every node ever recorded (gone ones too), by id. */
  listNodes(): Promise<NodeRecord[]>;
  /** Forgets a node (removed from the fleet); false when there was none. */
  removeNode(id: string): Promise<boolean>;
}
