import type { Http2SecureServer } from 'node:http2';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Audit } from '../audit/audit.js';
import type { AuditConfig } from '../audit/audit-service.js';
import type { Clock } from '../core/clock.js';
import type { ChangeFollower } from '../fleet/change-follower.js';
import type { RefreshLiveState } from '../fleet/refresh-live-state.js';
import type { RotationScheduler } from '../keys/rotation-scheduler.js';
import type { ThrottleSettings } from '../throttle/admission.js';
import type { UnsealService } from '../unseal/service.js';
import type { XksRequestLog } from '../xks/request-log.js';
import type { XksLimits } from '../xks/requests.js';
import type { ClusterMember } from './cluster/cluster-member.js';
import type { PeerUnsealSettings } from './peer-unseal.js';
import type { Services } from './services.js';
import type { TransportLimits } from './transport-limits.js';

/** How a node starts (startNode in node.ts). */
export interface NodeOptions {
  dataDir: string;
  host: string;
  port: number;
  databaseUrl?: string;
  logger: Logger;
  clock: Clock;
  limits?: XksLimits;
  /** Health results are cached at most this long (≤ 60 s). */
  healthMaxAgeMs?: number;
  heartbeatIntervalMs?: number;
  /** How often the node rotates and destroys keys that are due, and picks up other nodes' changes (default 60 s). */
  schedulerIntervalMs?: number;
  /** The certificate and key to serve; default: the data directory's tls/ files, reloaded when they change. */
  tls?: { certPem: string | Buffer; keyPem: string | Buffer };
  /** How often the tls/ files are checked for a new certificate (default 5 s; 0: never, reloadTls() only). */
  tlsReloadIntervalMs?: number;
  /** Mutual TLS on the XKS listener (docs/security.md#mutual-tls). */
  mutualTls?: {
    /** The CA bundle (PEM) client certificates must chain to. */
    caPem: string | Buffer;
    /** The file caPem was read from: read again when it changes or on reloadTls() (docs/security.md#certificate-reload). */
    caPath?: string;
    /** Accepted subject CNs (client-certificates.ts commonNameMatcher); default: cks.kms.<region>.amazonaws.com per keystore. */
    commonNamePattern?: string;
  };
  /** Transport limits on every listener (docs/security.md#transport-limits; default DEFAULT_TRANSPORT_LIMITS). */
  transport?: TransportLimits;
  /** The admin API, console and /metrics on a listener of their own (default: on the XKS listener). */
  adminListener?: {
    host: string;
    port: number;
    /** Set: the admin listener requires a client certificate issued by this CA bundle (PEM). */
    clientCaPem?: string | Buffer;
    /** The file clientCaPem was read from: read again when it changes or on reloadTls(). */
    clientCaPath?: string;
  };
  /** Idle keep-alive connections are closed after this long (default 2 minutes). */
  idleTimeoutMs?: number;
  /** On close, in-flight requests get this long before connections are cut. */
  shutdownGraceMs?: number;
  /** The audit log: mode (default durable), syslog forwarding, retention. */
  audit?: AuditConfig;
  /** Which XKS requests get an info log line (default `all`; `keyhold serve` defaults to `errors` with a durable audit log). */
  requestLog?: XksRequestLog;
  /** Serve GET /metrics without a token (default: a token with metrics:read is required). */
  metricsPublic?: boolean;
  /** Requests in flight and queue-time shedding (docs/throttling.md); keystore quotas come from the database. */
  throttle?: ThrottleSettings;
  /** How the node follows the fleet's change sequence (docs/fleet.md#propagation); defaults suit production. */
  propagation?: { safetyPollMs?: number; fastPollMs?: number; listenerRetryMs?: number };
  /** Peer unseal of a Shamir fleet (docs/fleet.md#unseal): off unless set. */
  peerUnseal?: PeerUnsealSettings;
  /** Set when this node is one worker of `serve --workers N` (docs/workers.md). */
  member?: ClusterMember;
}

/** An admin API route and what it requires (for the route-walk and OpenAPI tests). */
export interface AdminRoute {
  method: string;
  url: string;
  permission?: string;
  public?: boolean;
  /** Any valid token may call it (no permission needed). */
  authenticated?: boolean;
}

/** A serving node: XKS and the admin API on one or two HTTPS listeners, over its services, audit log and scheduler. */
export interface RunningNode {
  /** The XKS listener. */
  url: string;
  /** The admin listener (the same as url in single-listener mode). */
  adminUrl: string;
  /** Reads the certificate and key files again (SIGHUP); true when a new pair now serves. */
  reloadTls(): boolean;
  /** Every admin API route, as registered. */
  adminRoutes: AdminRoute[];
  port: number;
  nodeId: string;
  services: Services;
  /** Seal status and share entry (a Shamir node starts sealed; others are never sealed). */
  unseal: UnsealService;
  /** The node's audit log; `audit.adminEvents` is the AdminEventSink for management actions. */
  audit: Audit;
  server: Http2SecureServer;
  /** The node's key scheduler; tests run a pass with `scheduler.tick()`. */
  scheduler: RotationScheduler;
  /** This node's Prometheus registry (serve adds the scheduled backups' gauges to it). */
  metricsRegistry: Registry;
  /** Applies other nodes' (and workers') changes in the database to this node now (the scheduler does it every pass). */
  refreshLiveState: RefreshLiveState;
  /** Follows the fleet's change sequence: its status (listener up, applied id, lag) and `catchUp()`. */
  propagation: ChangeFollower;
  /** Where peers ask this node for the root (serve --peer-unseal); undefined when peer unseal is off. */
  peerUnsealUrl?: string;
  /** Stops serving (in-flight requests get the grace period), then closes the audit log and the services. */
  close(): Promise<void>;
}
