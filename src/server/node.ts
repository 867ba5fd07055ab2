import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import { adminApi } from '../admin/app.js';
import { startAudit, workerSpoolFile, type Audit, type AuditConfig } from '../audit/audit-service.js';
import type { Clock } from '../core/clock.js';
import { KEYHOLD_VERSION } from '../core/version.js';
import { startFleetHeartbeat } from '../fleet/heartbeat.js';
import { createHealthMonitor } from '../health/health-monitor.js';
import { createReadiness } from '../health/readiness.js';
import { createMetrics } from '../metrics/metrics.js';
import { certificateFacts } from '../metrics/certificate.js';
import { observabilityRoutes } from '../admin/routes/observability.js';
import { sealedGate } from '../unseal/gate.js';
import { openKeysWhenUnsealed, type KeyAccess } from '../unseal/key-access.js';
import type { UnsealService } from '../unseal/service.js';
import { createPolicyAuthorizer } from '../policies/authorizer.js';
import { startRotationScheduler, type RotationScheduler } from '../keys/rotation-scheduler.js';
import { createThrottleAdmission, type ThrottleSettings } from '../throttle/admission.js';
import { createXksHandler } from '../xks/handler.js';
import { createRequestDecoder } from '../xks/decoder.js';
import { DEFAULT_LIMITS, type XksLimits } from '../xks/requests.js';
import { createSigV4Verifier } from '../xks/sigv4.js';
import { answerMalformedRequest } from './client-errors.js';
import type { ClusterMember } from './cluster/member.js';
import { announceAdminChanges, workerNodeId } from './cluster/node-membership.js';
import { trackConnections } from './connections.js';
import { dataDirPaths, type NodeInfo } from './data-dir.js';
import { openServices, type Services } from './services.js';
import { tlsServerOptions } from './tls-options.js';

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
  tls?: { certPem: string | Buffer; keyPem: string | Buffer };
  /** Idle keep-alive connections are closed after this long (default 2 minutes). */
  idleTimeoutMs?: number;
  /** On close, in-flight requests get this long before connections are cut. */
  shutdownGraceMs?: number;
  /** The audit log: mode (default durable), syslog forwarding, retention. */
  audit?: AuditConfig;
  /** Serve GET /metrics without a token (default: a token with metrics:read is required). */
  metricsPublic?: boolean;
  /** Requests in flight and queue-time shedding (docs/throttling.md); keystore quotas come from the database. */
  throttle?: ThrottleSettings;
  /** Set when this node is one worker of `serve --workers N` (docs/workers.md). */
  member?: ClusterMember;
}

/** An admin API route and what it requires (for the route-walk and OpenAPI tests). */
export interface AdminRoute {
  method: string;
  url: string;
  permission?: string;
  public?: boolean;
}

export interface RunningNode {
  url: string;
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
  close(): Promise<void>;
}

/** Tells `keyhold` CLI commands where the admin API listens. */
export function writeNodeInfo(path: string, info: NodeInfo): void {
  writeFileSync(path, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
}

/** Paths outside /api/ that the admin side serves too (load balancers, monitoring, orchestrators). */
const ADMIN_SIDE_PATHS = ['/ping', '/metrics', '/healthz', '/readyz'];

/** Paths served by the admin side (Fastify); everything else is the XKS data plane. */
function isAdminPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  if (url.startsWith('/api/')) return true;
  const query = url.indexOf('?');
  return ADMIN_SIDE_PATHS.includes(query === -1 ? url : url.slice(0, query));
}

/** The composition root of a serving node: storage, live state, XKS data plane, admin API, HTTPS. */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const paths = dataDirPaths(options.dataDir);
  const { member } = options;
  // Each worker is a fleet member of its own: own audit chain, checkpoint key and heartbeat.
  const nodeId = workerNodeId(readFileSync(paths.nodeId, 'utf8').trim(), member);
  const services = await openServices({
    paths,
    databaseUrl: options.databaseUrl,
    clock: options.clock,
    onRootEvent: (event, detail) => {
      if (event === 'recovered') options.logger.info({ event: 'root.recovered', detail }, 'root of trust recovered');
      else options.logger.error({ event: `root.${event}`, detail }, 'root of trust lost its device');
    },
  });
  let stopFleet = () => {};
  let stopScheduler = async () => {};
  let audit: Audit | undefined;
  try {
    // Metrics (docs/metrics.md): this node's own registry, fed by the audit log, the XKS handler and, at scrape time, the node's state.
    const metrics = createMetrics();
    audit = await startAudit({
      store: services.store,
      root: services.root,
      nodeId,
      dataDir: options.dataDir,
      sqlitePath: paths.database,
      spoolPath: member ? join(options.dataDir, workerSpoolFile(member.index)) : undefined,
      clock: options.clock,
      logger: options.logger,
      config: options.audit,
      onCommit: metrics.observeAuditCommit,
    });
    // Management actions (approvals, scheduled key work, policy and access changes, unseal) are audited from here on.
    await services.adminEvents.connect(audit.adminEvents);
    // Keystores and credentials load even while sealed (their secrets are not under a Shamir master key),
    // so KMS can authenticate and read health UNAVAILABLE; keys and the canary wait for the root.
    await services.keystores.loadAll();
    await services.policies.loadAll();
    await services.killSwitch.refresh();
    // `keyAccess` is assigned below, before anything asks the monitor for a result.
    let keyAccess!: KeyAccess;
    const health = createHealthMonitor({
      root: services.root,
      canary: () => keyAccess.canary(),
      clock: options.clock,
      maxAgeMs: options.healthMaxAgeMs,
    });
    keyAccess = await openKeysWhenUnsealed({
      root: services.root,
      keys: services.keys,
      events: services.adminEvents,
      logger: options.logger,
      onOpened: () => health.invalidate(),
    });
    const { unseal } = keyAccess;

    const fleet = await startFleetHeartbeat({
      store: services.store,
      nodeId,
      clock: options.clock,
      logger: options.logger,
      intervalMs: options.heartbeatIntervalMs,
    });
    stopFleet = fleet.stop;

    // Another worker of this node changed something: apply it now rather than at the next pass
    // (keys while unsealed; keystores with their credentials, the kill switch, policies always).
    member?.onRefresh(async () => {
      if (unseal.serving()) await services.keys.syncLive();
      await services.keystores.loadAll();
      await services.killSwitch.refresh();
      await services.policies.loadAll();
    });

    const scheduler = startRotationScheduler({
      keys: services.keys,
      nodeId,
      logger: options.logger,
      events: services.adminEvents,
      // While sealed, keys cannot be opened: only keystore status and the kill switch are refreshed.
      // Policies are re-read too, so a policy changed on another node of the fleet applies here within a pass.
      refresh: [
        async () => unseal.serving() && services.keys.syncLive(),
        services.keystores.syncStatus,
        services.killSwitch.refresh,
        services.policies.loadAll,
      ],
      canWork: unseal.serving,
      intervalMs: options.schedulerIntervalMs,
    });
    stopScheduler = scheduler.stop;

    const healthFacts = async () => {
      const snapshot = await health.current();
      return {
        version: KEYHOLD_VERSION,
        fleetSize: fleet.fleetSize(),
        ekm: { id: `keyhold-${nodeId.slice(0, 8)}`, model: services.root.model, healthStatus: snapshot.status },
      };
    };

    const admission = createThrottleAdmission(options.throttle);
    const handleXks = createXksHandler({
      live: services.live,
      verifier: createSigV4Verifier({ clock: options.clock }),
      decoder: createRequestDecoder(options.limits ?? DEFAULT_LIMITS),
      healthFacts,
      logger: options.logger,
      availabilityGates: [sealedGate(unseal.serving)],
      refusalGates: [services.killSwitch.gate],
      authorizer: createPolicyAuthorizer(services.policyRegistry),
      recorder: audit.recorder,
      observers: [metrics.xksObserver],
      admission,
    });

    const tls = options.tls ?? { certPem: readFileSync(paths.tlsCert), keyPem: readFileSync(paths.tlsKey) };
    const auditLog = audit.log;
    metrics.watchNode({
      clock: options.clock,
      version: KEYHOLD_VERSION,
      root: services.root,
      ekmHealth: async () => (await health.current()).status,
      sealed: () => !unseal.serving(),
      killSwitchOn: () => services.killSwitch.status().on,
      audit: () => auditLog.status(),
      fleetSize: fleet.fleetSize,
      certificate: certificateFacts(tls.certPem),
      credentials: services.keystores.credentialTimes,
    });
    let server!: Http2SecureServer;
    const app = Fastify({
      loggerInstance: options.logger,
      // The XKS handler logs its own line per request; admin requests are not logged per request.
      logController: new LogController({ disableRequestLogging: true }),
      // Fastify's default strips unknown body fields silently; an admin request with a field we do not
      // know (a typo, say) is refused instead, so nobody believes a setting was applied when it was not.
      ajv: { customOptions: { removeAdditional: false } },
      http2: true,
      clientErrorHandler: answerMalformedRequest,
      https: { allowHTTP1: true },
      /*= xks-spec.md#14.1
       *# 9. [MUST] Protect all communication with HTTPS; no plaintext-HTTP API listener in production. */
      serverFactory: (handleAdmin) => {
        server = createSecureServer(tlsServerOptions(tls), (request, response) => {
          if (isAdminPath(request.url)) handleAdmin(request, response);
          else void handleXks(request, response);
        });
        return server;
      },
    });

    /*= xks-spec.md#14.10
     *# 101. [MUST] Implement the health checks the supported load balancers need (e.g. GET `/ping` → 200, not on the API URIs). */
    app.get('/ping', async (_request, reply) => reply.type('text/plain').send(`pong from keyhold v${KEYHOLD_VERSION}`));
    if (member) app.addHook('onSend', announceAdminChanges(member));
    const adminRoutes: AdminRoute[] = [];
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/api/')) return;
      for (const method of [route.method].flat())
        adminRoutes.push({ method, url: route.url, permission: route.config?.permission, public: route.config?.public });
    });
    // Under `serve --workers N` a scrape reaches one worker, which answers for all of them.
    member?.serveMetrics(() => metrics.registry.getMetricsAsJSON());
    await app.register(observabilityRoutes, {
      metrics: member ? { render: member.clusterMetrics } : metrics,
      readiness: createReadiness({ seal: unseal.status, root: services.root, store: services.store, audit: () => auditLog.status() }),
      access: services.access,
      metricsPublic: options.metricsPublic,
    });
    await app.register(adminApi, {
      prefix: '/api/v1',
      keystores: services.keystores,
      keys: services.keys,
      unseal,
      access: services.access,
      approvals: services.approvals,
      policies: services.policies,
      killSwitch: services.killSwitch,
      audit,
      nodeStatus: async () => ({
        version: KEYHOLD_VERSION,
        nodeId,
        rootOfTrust: services.root.kind,
        rootOfTrustState: services.root.state(),
        rootOfTrustModel: services.root.model,
        ekmHealth: (await health.current()).status,
        keystores: services.live.keystores().length,
        keys: services.live.keyCount(),
        worker: { index: member?.index ?? 1, count: member?.count ?? 1, pid: process.pid },
      }),
    });

    const connections = trackConnections(server, options.idleTimeoutMs ?? 120_000);
    await app.listen({ host: options.host, port: options.port });
    const port = (server.address() as AddressInfo).port;
    // Wildcard and loopback addresses are reached as localhost, the name the development certificate carries.
    const urlHost = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(options.host) ? 'localhost' : options.host;
    const url = `https://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`;
    // Workers share one address; their primary writes node.json once they all listen.
    if (!member) writeNodeInfo(paths.nodeInfo, { adminUrl: url, pid: process.pid, startedAt: new Date(options.clock.now()).toISOString() });

    return {
      url,
      adminRoutes,
      port,
      nodeId,
      services,
      unseal,
      audit,
      server,
      scheduler,
      async close() {
        const schedulerStopped = scheduler.stop();
        fleet.stop();
        admission.close();
        const closing = app.close();
        connections.closeAll(options.shutdownGraceMs ?? 5_000);
        await closing;
        await schedulerStopped;
        await audit!.close();
        await services.close();
      },
    };
  } catch (error) {
    await stopScheduler();
    stopFleet();
    await audit?.close().catch(() => undefined);
    await services.close();
    throw error;
  }
}
