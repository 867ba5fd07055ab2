import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { withDeadline } from '../core/deadline.js';
import type { EkmHealth } from '../roots/root-of-trust.js';
import type { CertificateFacts } from './certificate.js';

const EKM_STATES: readonly EkmHealth[] = ['ACTIVE', 'DEGRADED', 'UNAVAILABLE'];
const DAY_MS = 86_400_000;

export interface CredentialTime {
  keystore: string;
  accessKeyId: string;
  /** epoch milliseconds */
  createdAt: number;
}

/** Where the node-state gauges read from, at scrape time only. */
export interface NodeStateSources {
  clock: Clock;
  version: string;
  root: { readonly kind: string; state(): EkmHealth };
  /** The deep health GetHealthStatus reports (cached by the health monitor). */
  ekmHealth: () => Promise<EkmHealth>;
  sealed: () => boolean;
  killSwitchOn: () => boolean;
  audit: () => { queued: number; spooled: number; dropped: number };
  fleetSize: () => number;
  /** How this node hears of other nodes' changes (docs/fleet.md#propagation); absent: not reported. */
  propagation?: () => { mode: 'listen' | 'poll'; listening: boolean; appliedId: number; latestId: number; lastLagMs?: number };
  /** The serving certificate now (it may be reloaded while the node runs). */
  certificate: () => CertificateFacts;
  /** Every SigV4 credential's creation time (a database read; cached here). */
  credentials: () => Promise<CredentialTime[]>;
  /** How long credential times are reused before they are read again (default 60 s). */
  credentialsMaxAgeMs?: number;
  /** A scrape waits at most this long for a database or health read (default 1 s). */
  readTimeoutMs?: number;
}

/**
 * Gauges over the node's state, computed in `collect()` when Prometheus scrapes, so the request path
 * pays nothing for them. A source that fails leaves its gauge at the last value read.
 */
export function registerNodeState(registry: Registry, sources: NodeStateSources): void {
  const registers = [registry];
  const readTimeoutMs = sources.readTimeoutMs ?? 1000;

  new Gauge({
    name: 'keyhold_build_info',
    // Across `serve --workers N` (AggregatorRegistry): every worker reports the same node-wide value.
    aggregator: 'first',
    help: 'Always 1; the version label says which Keyhold serves',
    labelNames: ['version'],
    registers,
    collect() {
      this.set({ version: sources.version }, 1);
    },
  });

  new Gauge({
    name: 'keyhold_xks_external_key_manager_states',
    help: 'The EKM health GetHealthStatus reports: 1 for the current state, 0 for the others (CloudWatch XksExternalKeyManagerStates)',
    labelNames: ['state'],
    registers,
    async collect() {
      const current = await withDeadline(sources.ekmHealth(), readTimeoutMs, 'EKM health check').catch((): EkmHealth => 'UNAVAILABLE');
      for (const state of EKM_STATES) this.set({ state }, state === current ? 1 : 0);
    },
  });

  new Gauge({
    name: 'keyhold_root_of_trust_state',
    help: 'The root of trust (kind: software, shamir, pkcs11): 1 for its current state, 0 for the others',
    labelNames: ['kind', 'state'],
    registers,
    collect() {
      const current = sources.root.state();
      for (const state of EKM_STATES) this.set({ kind: sources.root.kind, state }, state === current ? 1 : 0);
    },
  });

  new Gauge({
    name: 'keyhold_sealed',
    // Across `serve --workers N` (AggregatorRegistry): every worker reports the same node-wide value.
    aggregator: 'max',
    help: "1 while the node is sealed (waiting for its custodians' Shamir shares) and serves no crypto",
    registers,
    collect() {
      this.set(sources.sealed() ? 1 : 0);
    },
  });

  new Gauge({
    name: 'keyhold_kill_switch_engaged',
    // Across `serve --workers N` (AggregatorRegistry): every worker reports the same node-wide value.
    aggregator: 'max',
    help: '1 while the node-wide kill switch stops every XKS key operation',
    registers,
    collect() {
      this.set(sources.killSwitchOn() ? 1 : 0);
    },
  });

  const { propagation } = sources;
  if (propagation) {
    new Gauge({
      name: 'keyhold_fleet_change_listener_up',
      help: '1 while the PostgreSQL LISTEN connection for fleet changes is up; 0 while the node polls the change sequence instead',
      registers,
      collect() {
        this.set(propagation().listening ? 1 : 0);
      },
    });
    new Gauge({
      name: 'keyhold_fleet_change_lag_seconds',
      help: "Time from the last applied change's commit (on any node) to this node applying it",
      registers,
      collect() {
        this.set((propagation().lastLagMs ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'keyhold_fleet_change_applied_id',
      help: 'The newest id of the fleet change sequence this node has applied',
      registers,
      collect() {
        this.set(propagation().appliedId);
      },
    });
  }

  new Gauge({
    name: 'keyhold_audit_queue_depth',
    help: 'Audit events waiting in memory for the next group commit',
    registers,
    collect() {
      this.set(sources.audit().queued);
    },
  });

  new Gauge({
    name: 'keyhold_audit_spooled_events',
    help: 'Audit events in the local spool awaiting replay because the database is unreachable',
    registers,
    collect() {
      this.set(sources.audit().spooled);
    },
  });

  let droppedSeen = 0;
  new Counter({
    name: 'keyhold_audit_dropped_events_total',
    help: 'Audit events dropped (lossy audit mode only)',
    registers,
    collect() {
      const dropped = sources.audit().dropped;
      if (dropped > droppedSeen) this.inc(dropped - droppedSeen);
      droppedSeen = dropped;
    },
  });

  new Gauge({
    name: 'keyhold_fleet_size',
    // Across `serve --workers N` (AggregatorRegistry): every worker reports the same node-wide value.
    aggregator: 'max',
    help: 'Keyhold nodes that heartbeated recently, this one included (GetHealthStatus xksProxyFleetSize)',
    registers,
    collect() {
      this.set(sources.fleetSize());
    },
  });

  new Gauge({
    name: 'keyhold_xks_proxy_certificate_days_to_expire',
    // Across `serve --workers N` (AggregatorRegistry): every worker reports the same node-wide value.
    aggregator: 'min',
    help: 'Days until the TLS certificate the node serves expires (CloudWatch XksProxyCertificateDaysToExpire)',
    labelNames: ['certificate_name'],
    registers,
    collect() {
      const certificate = sources.certificate();
      // A reloaded certificate with another name replaces the old series.
      this.reset();
      this.set({ certificate_name: certificate.name }, (certificate.expiresAt - sources.clock.now()) / DAY_MS);
    },
  });

  const credentialsMaxAgeMs = sources.credentialsMaxAgeMs ?? 60_000;
  let credentials: CredentialTime[] = [];
  let credentialsReadAt = Number.NEGATIVE_INFINITY;
  new Gauge({
    name: 'keyhold_xks_proxy_credential_age_days',
    // Across `serve --workers N` (AggregatorRegistry): every worker reports the same node-wide value.
    aggregator: 'max',
    help: 'Days since each SigV4 credential of a keystore was created on Keyhold (compare CloudWatch XksProxyCredentialAge)',
    labelNames: ['keystore', 'access_key_id'],
    registers,
    async collect() {
      const now = sources.clock.now();
      if (now - credentialsReadAt >= credentialsMaxAgeMs) {
        try {
          credentials = await withDeadline(sources.credentials(), readTimeoutMs, 'credential read');
          credentialsReadAt = now;
        } catch {
          // Database unreachable: keep reporting the times read last (ages still advance with the clock).
        }
      }
      // Removed credentials disappear from the output rather than linger at their last age.
      this.reset();
      for (const c of credentials) this.set({ keystore: c.keystore, access_key_id: c.accessKeyId }, (now - c.createdAt) / DAY_MS);
    },
  });
}
