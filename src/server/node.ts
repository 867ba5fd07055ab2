import { readFileSync, writeFileSync } from 'node:fs';
import type { Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { defineBackupExecutor } from '../approvals/executors.js';
import { startAudit } from '../audit/audit-service.js';
import { createNodeBackups } from '../backup/node-backups.js';
import type { Audit } from '../audit/audit.js';
import { dataDirPaths, workerAuditSpool, type NodeInfo } from '../core/data-dir.js';
import { KEYHOLD_VERSION } from '../core/version.js';
import { createLiveStateRefresh } from '../fleet/refresh-live-state.js';
import { createHealthMonitor } from '../health/health-monitor.js';
import { createReadiness } from '../health/readiness.js';
import { startRotationScheduler } from '../keys/rotation-scheduler.js';
import { clientCertRefusalCounter } from '../metrics/client-cert-metrics.js';
import { rapidResetSessionCounter } from '../metrics/transport-metrics.js';
import { createMetrics } from '../metrics/create-metrics.js';
import { createPolicyAuthorizer } from '../policies/authorizer.js';
import { createThrottleAdmission } from '../throttle/admission.js';
import { sealedGate } from '../unseal/gate.js';
import { openKeysWhenUnsealed } from '../unseal/key-access.js';
import { createXksHandler } from '../xks/handler.js';
import { createRequestDecoder } from '../xks/decoder.js';
import { DEFAULT_LIMITS } from '../xks/requests.js';
import { createSigV4Verifier } from '../xks/sigv4.js';
import { readRootConfig } from '../roots/root-config.js';
import { workerNodeId } from './cluster/node-membership.js';
import { createClientCertGuard } from './client-cert-guard.js';
import { commonNameMatcher, regionsMatcher } from './client-certificates.js';
import { trackConnections } from './connections.js';
import { guardRapidReset } from './rapid-reset-guard.js';
import { startFleetMembership, type FleetMembership } from './fleet-membership.js';
import { createHttpsFront } from './https-front.js';
import type { NodeOptions, RunningNode } from './running-node.js';
import { startPeerUnseal } from './peer-unseal.js';
import { openServices } from './services.js';
import type { ClientAuth } from './tls-options.js';
import { DEFAULT_TRANSPORT_LIMITS } from './transport-limits.js';
import { createServingCertificate, type ReloadableListener } from './tls-reload.js';

/** Tells `keyhold` CLI commands where the admin API listens. */
export function writeNodeInfo(path: string, info: NodeInfo): void {
  writeFileSync(path, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
}

/** The https:// URL a listener is reached at. Wildcard and loopback addresses are reached as localhost, the name the development certificate carries. */
function listenerUrl(server: Http2SecureServer | undefined, host: string): string {
  const address = server?.address();
  if (address === null || address === undefined || typeof address === 'string') throw new Error('the HTTPS server has no TCP address');
  const urlHost = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(host) ? 'localhost' : host;
  return `https://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${address.port}`;
}

/** The composition root of a serving node: storage, live state, XKS data plane, admin API, HTTPS. */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const paths = dataDirPaths(options.dataDir);
  const { member, logger, clock } = options;
  // Each worker is a fleet member of its own: own audit chain, checkpoint key and heartbeat.
  const dataDirNodeId = readFileSync(paths.nodeId, 'utf8').trim();
  const nodeId = workerNodeId(dataDirNodeId, member);
  const services = await openServices({
    paths,
    databaseUrl: options.databaseUrl,
    clock,
    onRootEvent: (event, detail) => {
      if (event === 'recovered') logger.info({ event: 'root.recovered', detail }, 'root of trust recovered');
      else logger.error({ event: `root.${event}`, detail }, 'root of trust lost its device');
    },
  });
  let membership: FleetMembership | undefined;
  let stopScheduler = async () => {};
  let stopPeerUnseal = async () => {};
  let audit: Audit | undefined;
  try {
    // Metrics (docs/metrics.md): this node's own registry, fed by the audit log, the XKS handler and, at scrape time, the node's state.
    const metrics = createMetrics();
    const auditLog = await startAudit({
      database: services.database,
      root: services.root,
      nodeId,
      sqlitePath: paths.database,
      spoolPath: member ? workerAuditSpool(paths, member.index) : paths.auditSpool,
      clock,
      logger,
      config: options.audit,
      onCommit: (latencyMs, events) => metrics.observeAuditCommit(latencyMs, events),
    });
    audit = auditLog;
    // Management actions (approvals, scheduled key work, policy and access changes, unseal) are audited from here on.
    await services.adminEvents.connect(auditLog.adminEvents);
    // Backups through the admin API (POST /backups), gated as backup.create (docs/backup.md#api).
    const backups = createNodeBackups({
      database: { sqlitePath: paths.database, databaseUrl: options.databaseUrl },
      nodeId: dataDirNodeId,
      rootConfig: readRootConfig(paths.rootConfig),
      clock,
      events: services.adminEvents,
    });
    defineBackupExecutor(services.approvals, backups);
    // Read before the live state loads: every change after this id is applied again (docs/fleet.md#propagation).
    const { changes } = services;
    const startAfterId = await changes.latestId();
    // Keystores and credentials load even while sealed (their secrets are not under a Shamir master key),
    // so KMS can authenticate and read health UNAVAILABLE; keys and the canary wait for the root.
    await services.keystores.loadAll();
    await services.policies.loadAll();
    await services.killSwitch.refresh();
    // The health monitor caches its result; opening the keys drops it (nothing is cached before the monitor exists).
    let invalidateHealth = () => {};
    // Once the keys open, the fleet hears at once that this node is unsealed (peers asking for the root pick it first).
    let announceOpened = () => {};
    const keyAccess = await openKeysWhenUnsealed({
      root: services.root,
      keys: services.keys,
      events: services.adminEvents,
      logger,
      onOpened: () => {
        invalidateHealth();
        announceOpened();
      },
    });
    const health = createHealthMonitor({
      root: services.root,
      canary: () => keyAccess.canary(),
      clock,
      maxAgeMs: options.healthMaxAgeMs,
    });
    invalidateHealth = () => health.invalidate();
    const { unseal } = keyAccess;

    // Other nodes' and workers' changes: applied on each scheduler pass, and at once when another
    // worker of this node announces one.
    const refreshLiveState = createLiveStateRefresh({
      serving: () => unseal.serving(),
      keys: services.keys,
      keystores: services.keystores,
      killSwitch: services.killSwitch,
      policies: services.policies,
    });
    member?.onRefresh(refreshLiveState);
    // Peer unseal (docs/fleet.md#unseal), opt-in: the granter listens before the first heartbeat publishes its URL.
    const peerUnseal =
      options.peerUnseal &&
      (await startPeerUnseal({
        settings: options.peerUnseal,
        nodeId,
        root: services.root,
        unseal,
        peers: () => membership?.heartbeat.livePeers() ?? [],
        events: services.adminEvents,
        logger,
      }));
    stopPeerUnseal = () => peerUnseal?.stop() ?? Promise.resolve();
    // Other nodes' changes (the change sequence, woken by PostgreSQL NOTIFY), the heartbeat and the fleet view.
    const fleetMembership = await startFleetMembership({
      nodeId,
      services,
      settings: options,
      changes,
      startAfterId,
      refresh: refreshLiveState,
      clock,
      logger,
      sealed: () => !unseal.serving(),
      ekmHealth: async () => (await health.current()).status,
      audit: () => auditLog.log.status(),
      peerUnsealUrl: () => peerUnseal?.url,
    });
    membership = fleetMembership;
    announceOpened = () => void fleetMembership.heartbeat.beat().catch(() => undefined);
    peerUnseal?.startRequesting();
    const { propagation, heartbeat: fleet } = fleetMembership;

    const scheduler = startRotationScheduler({
      keys: services.keys,
      nodeId,
      logger,
      events: services.adminEvents,
      refresh: [refreshLiveState],
      canWork: () => unseal.serving(),
      intervalMs: options.schedulerIntervalMs,
    });
    stopScheduler = () => scheduler.stop();

    const healthFacts = async () => {
      const snapshot = await health.current();
      return {
        version: KEYHOLD_VERSION,
        fleetSize: fleet.fleetSize(),
        // Each live node's own root-of-trust state: this one's cached deep check, the others' as of their last heartbeat.
        ekm: { id: fleetMembership.ekmId, model: services.root.model, healthStatus: snapshot.status },
        peers: fleet.livePeers().flatMap((peer) => (peer.report ? [peer.report.ekm] : [])),
      };
    };

    const admission = createThrottleAdmission(options.throttle);
    const xksHandler = createXksHandler({
      live: services.live,
      verifier: createSigV4Verifier({ clock }),
      decoder: createRequestDecoder(options.limits ?? DEFAULT_LIMITS),
      healthFacts,
      logger,
      availabilityGates: [sealedGate(() => unseal.serving())],
      refusalGates: [services.killSwitch.gate],
      authorizer: createPolicyAuthorizer(services.policyRegistry),
      recorder: auditLog.recorder,
      observers: [metrics.xksObserver, fleetMembership.requestRate.observer],
      admission,
      requestLog: options.requestLog,
    });

    // Mutual TLS on the XKS listener (docs/security.md#mutual-tls): the CN pattern given, else KMS's CN in
    // the region of each loaded keystore (docs/requirements.md item 91).
    const { mutualTls } = options;
    const xksClientAuth: ClientAuth | undefined = mutualTls && { caPem: mutualTls.caPem, caPath: mutualTls.caPath, required: false };
    const clientCertGuard =
      mutualTls &&
      createClientCertGuard({
        acceptsCommonName:
          mutualTls.commonNamePattern !== undefined
            ? commonNameMatcher(mutualTls.commonNamePattern)
            : regionsMatcher(() => services.live.keystores().map((live) => live.keystore.region)),
        logger,
        onRefusal: clientCertRefusalCounter(metrics.registry),
      });
    const handleXks = clientCertGuard ? clientCertGuard.guard(xksHandler) : xksHandler;
    const adminClientAuth: ClientAuth | undefined = options.adminListener?.clientCaPem
      ? { caPem: options.adminListener.clientCaPem, caPath: options.adminListener.clientCaPath, required: true }
      : undefined;

    // The certificate both listeners serve, and their client CA bundles; reloaded when their files change (docs/security.md#certificate-reload).
    const listeners: ReloadableListener[] = [];
    const certificate = createServingCertificate({
      files: options.tls ? undefined : { certPath: paths.tlsCert, keyPath: paths.tlsKey },
      pem: options.tls,
      listeners: () => listeners,
      logger,
    });
    const tls = certificate.current();
    metrics.watchNode({
      clock,
      version: KEYHOLD_VERSION,
      root: services.root,
      ekmHealth: async () => (await health.current()).status,
      sealed: () => !unseal.serving(),
      killSwitchOn: () => services.killSwitch.status().on,
      audit: () => auditLog.log.status(),
      fleetSize: () => fleet.fleetSize(),
      propagation: () => propagation.status(),
      certificate: () => certificate.facts(),
      credentials: () => services.keystores.credentialTimes(),
    });
    // Under `serve --workers N` a scrape reaches one worker, which answers for all of them.
    member?.serveMetrics(() => metrics.registry.getMetricsAsJSON());
    // What /metrics and GET /api/v1/metrics serve: this node's registry, or every worker's, summed.
    const renderedMetrics = member ? { render: () => member.clusterMetrics() } : metrics;
    const front = await createHttpsFront({
      logger,
      tls,
      xksClientAuth,
      transport: options.transport,
      adminListener: options.adminListener && { clientAuth: adminClientAuth },
      handleXks,
      member,
      observability: {
        metrics: renderedMetrics,
        readiness: createReadiness({
          seal: () => unseal.status(),
          root: services.root,
          database: services.database,
          audit: () => auditLog.log.status(),
          propagation: () => propagation.status(),
        }),
        access: services.access,
        metricsPublic: options.metricsPublic,
      },
      admin: {
        keystores: services.keystores,
        keys: services.keys,
        unseal,
        access: services.access,
        approvals: services.approvals,
        backups,
        policies: services.policies,
        killSwitch: services.killSwitch,
        audit: auditLog,
        fleet: fleetMembership.view,
        metrics: renderedMetrics,
        clock,
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
      },
    });

    const { server, adminServer } = front;
    clientCertGuard?.attach(server);
    listeners.push({ server, clientAuth: xksClientAuth });
    if (adminServer) listeners.push({ server: adminServer, clientAuth: adminClientAuth });
    const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    const connections = [trackConnections(server, idleTimeoutMs), ...(adminServer ? [trackConnections(adminServer, idleTimeoutMs)] : [])];
    // HTTP/2 rapid reset on both listeners (the peer unseal listener speaks HTTP/1.1 only).
    const rapidReset = {
      maxCancelledStreams: (options.transport ?? DEFAULT_TRANSPORT_LIMITS).maxCancelledStreams,
      logger,
      onSessionClosed: rapidResetSessionCounter(metrics.registry),
    };
    guardRapidReset(server, 'xks', rapidReset);
    if (adminServer) guardRapidReset(adminServer, 'admin', rapidReset);
    await front.listen(options.host, options.port);
    const url = listenerUrl(server, options.host);
    let adminUrl = url;
    if (options.adminListener) {
      try {
        await front.listenAdmin(options.adminListener.host, options.adminListener.port);
      } catch (error) {
        await front.close();
        throw error;
      }
      adminUrl = listenerUrl(adminServer, options.adminListener.host);
    }
    const { port } = server.address() as AddressInfo;
    if (options.tlsReloadIntervalMs !== 0) certificate.watch(options.tlsReloadIntervalMs ?? 5_000);
    // Workers share one address; their primary writes node.json once they all listen.
    await fleetMembership.served(url);
    if (!member) writeNodeInfo(paths.nodeInfo, { adminUrl, xksUrl: url, pid: process.pid, startedAt: new Date(clock.now()).toISOString() });

    return {
      url,
      adminUrl,
      reloadTls: () => certificate.reload(),
      adminRoutes: front.adminRoutes,
      port,
      nodeId,
      services,
      unseal,
      audit: auditLog,
      server,
      scheduler,
      refreshLiveState,
      propagation,
      peerUnsealUrl: peerUnseal?.url,
      metricsRegistry: metrics.registry,
      async close() {
        const schedulerStopped = scheduler.stop();
        await stopPeerUnseal();
        await fleetMembership.stop();
        admission.close();
        certificate.close();
        const closing = front.close();
        for (const tracked of connections) tracked.closeAll(options.shutdownGraceMs ?? 5_000);
        await closing;
        await schedulerStopped;
        await auditLog.close();
        await services.close();
      },
    };
  } catch (error) {
    await stopPeerUnseal();
    await stopScheduler();
    await membership?.stop();
    await audit?.close().catch(() => undefined);
    await services.close();
    throw error;
  }
}
