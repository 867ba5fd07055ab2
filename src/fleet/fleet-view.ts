import type { Clock } from '../core/clock.js';
import type { ChangeStore } from './change-store.js';
import type { FleetStore, NodeReport } from './fleet-store.js';

/** One node as `GET /api/v1/fleet` and `keyhold fleet status` show it. */
export interface FleetNodeView {
  id: string;
  hostname: string;
  address?: string;
  version?: string;
  /** `live`: heartbeat within three intervals; `gone`: stopped heartbeating (shown, not dropped). */
  state: 'live' | 'gone';
  /** The node that answered. */
  self: boolean;
  startedAt: string;
  lastHeartbeatAt: string;
  /** Milliseconds since its last heartbeat. */
  heartbeatAgeMs: number;
  sealed?: boolean;
  rootOfTrust?: NodeReport['rootOfTrust'];
  ekmHealth?: string;
  audit?: NodeReport['audit'];
  /** How it hears of changes, and how far behind the fleet's newest change it was at its last heartbeat. */
  propagation?: NodeReport['propagation'] & { behind: number };
  requestsPerSecond?: number;
}

export interface FleetView {
  nodes: FleetNodeView[];
  live: number;
  gone: number;
  /** The newest id of the fleet's change sequence. */
  latestChangeId: number;
  /** A node is gone once its last heartbeat is older than this. */
  liveWithinMs: number;
}

/**
 * The fleet as the fleet table records it (docs/fleet.md#fleet-view): every node, live or gone, with what
 * it reported at its last heartbeat; the answering node shows its current report.
 */
export function createFleetView(options: {
  fleet: FleetStore;
  changes: ChangeStore;
  clock: Clock;
  selfId: string;
  liveWithinMs: number;
  selfReport: () => Promise<NodeReport>;
}): () => Promise<FleetView> {
  const { fleet, changes, clock, selfId, liveWithinMs } = options;
  return async () => {
    const [records, latestChangeId, ownReport] = await Promise.all([fleet.listNodes(), changes.latestId(), options.selfReport()]);
    const now = clock.now();
    const nodes = records.map((record): FleetNodeView => {
      const self = record.id === selfId;
      const report = self ? ownReport : record.report;
      const heartbeatAgeMs = Math.max(0, now - record.lastSeenAt);
      return {
        id: record.id,
        hostname: record.hostname,
        address: record.address,
        version: record.version,
        state: self || heartbeatAgeMs <= liveWithinMs ? 'live' : 'gone',
        self,
        startedAt: new Date(record.startedAt).toISOString(),
        lastHeartbeatAt: new Date(record.lastSeenAt).toISOString(),
        heartbeatAgeMs,
        ...(report && {
          sealed: report.sealed,
          rootOfTrust: report.rootOfTrust,
          ekmHealth: report.ekm.healthStatus,
          audit: report.audit,
          propagation: { ...report.propagation, behind: Math.max(0, latestChangeId - report.propagation.appliedId) },
          requestsPerSecond: report.requestsPerSecond,
        }),
      };
    });
    const live = nodes.filter((n) => n.state === 'live').length;
    return { nodes, live, gone: nodes.length - live, latestChangeId, liveWithinMs };
  };
}
