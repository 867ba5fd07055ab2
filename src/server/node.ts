import { readFileSync, writeFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import { adminApi } from '../admin/app.js';
import { startAudit, type Audit, type AuditConfig } from '../audit/audit-service.js';
import type { Clock } from '../core/clock.js';
import { KEYHOLD_VERSION } from '../core/version.js';
import { startFleetHeartbeat } from '../fleet/heartbeat.js';
import { createHealthMonitor } from '../health/health-monitor.js';
import { createXksHandler } from '../xks/handler.js';
import { createRequestDecoder, DEFAULT_LIMITS, type XksLimits } from '../xks/requests.js';
import { createSigV4Verifier } from '../xks/sigv4.js';
import { answerMalformedRequest } from './client-errors.js';
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
  tls?: { certPem: string | Buffer; keyPem: string | Buffer };
  /** Idle keep-alive connections are closed after this long (default 2 minutes). */
  idleTimeoutMs?: number;
  /** On close, in-flight requests get this long before connections are cut. */
  shutdownGraceMs?: number;
  /** The audit log: mode (default durable), syslog forwarding, retention. */
  audit?: AuditConfig;
}

export interface RunningNode {
  url: string;
  port: number;
  nodeId: string;
  services: Services;
  /** The node's audit log; `audit.adminEvents` is the AdminEventSink for management actions. */
  audit: Audit;
  server: Http2SecureServer;
  close(): Promise<void>;
}

/** Paths served by the admin side (Fastify); everything else is the XKS data plane. */
function isAdminPath(url: string | undefined): boolean {
  return url !== undefined && (url.startsWith('/api/') || url === '/ping' || url.startsWith('/ping?'));
}

/** The composition root of a serving node: storage, live state, XKS data plane, admin API, HTTPS. */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const paths = dataDirPaths(options.dataDir);
  const nodeId = readFileSync(paths.nodeId, 'utf8').trim();
  const services = await openServices({ paths, databaseUrl: options.databaseUrl, clock: options.clock });
  let stopFleet = () => {};
  let audit: Audit | undefined;
  try {
    audit = await startAudit({
      store: services.store,
      root: services.root,
      nodeId,
      dataDir: options.dataDir,
      sqlitePath: paths.database,
      clock: options.clock,
      logger: options.logger,
      config: options.audit,
    });
    await services.keystores.loadAll();
    await services.keys.loadAll();
    const canary = await services.keys.ensureCanary();
    const tokenHashes = (await services.store.listAdminTokens()).map((t) => t.tokenHash);

    const fleet = await startFleetHeartbeat({
      store: services.store,
      nodeId,
      clock: options.clock,
      logger: options.logger,
      intervalMs: options.heartbeatIntervalMs,
    });
    stopFleet = fleet.stop;

    const health = createHealthMonitor({
      root: services.root,
      canary: async () => canary,
      clock: options.clock,
      maxAgeMs: options.healthMaxAgeMs,
    });
    const healthFacts = async () => {
      const snapshot = await health.current();
      return {
        version: KEYHOLD_VERSION,
        fleetSize: fleet.fleetSize(),
        ekm: { id: `keyhold-${nodeId.slice(0, 8)}`, model: services.root.model, healthStatus: snapshot.status },
      };
    };

    const handleXks = createXksHandler({
      live: services.live,
      verifier: createSigV4Verifier({ clock: options.clock }),
      decoder: createRequestDecoder(options.limits ?? DEFAULT_LIMITS),
      healthFacts,
      logger: options.logger,
      recorder: audit.recorder,
    });

    const tls = options.tls ?? { certPem: readFileSync(paths.tlsCert), keyPem: readFileSync(paths.tlsKey) };
    let server!: Http2SecureServer;
    const app = Fastify({
      loggerInstance: options.logger,
      // The XKS handler logs its own line per request; admin requests are not logged per request.
      logController: new LogController({ disableRequestLogging: true }),
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
    await app.register(adminApi, {
      prefix: '/api/v1',
      keystores: services.keystores,
      keys: services.keys,
      tokenHashes: () => tokenHashes,
      audit,
      nodeStatus: async () => ({
        version: KEYHOLD_VERSION,
        nodeId,
        rootOfTrust: services.root.kind,
        ekmHealth: (await health.current()).status,
        keystores: services.live.keystores().length,
        keys: services.live.keyCount(),
      }),
    });

    const connections = trackConnections(server, options.idleTimeoutMs ?? 120_000);
    await app.listen({ host: options.host, port: options.port });
    const port = (server.address() as AddressInfo).port;
    // Wildcard and loopback addresses are reached as localhost, the name the development certificate carries.
    const urlHost = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(options.host) ? 'localhost' : options.host;
    const url = `https://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`;
    const info: NodeInfo = { adminUrl: url, pid: process.pid, startedAt: new Date(options.clock.now()).toISOString() };
    writeFileSync(paths.nodeInfo, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });

    return {
      url,
      port,
      nodeId,
      services,
      audit,
      server,
      async close() {
        fleet.stop();
        const closing = app.close();
        connections.closeAll(options.shutdownGraceMs ?? 5_000);
        await closing;
        await audit!.close();
        await services.close();
      },
    };
  } catch (error) {
    stopFleet();
    await audit?.close().catch(() => undefined);
    await services.close();
    throw error;
  }
}

/**
 * Keeps track of open connections. Keep-alive connections (HTTP/2 sessions and HTTP/1.1 sockets alike)
 * stay open for reuse, but are closed after `idleTimeoutMs` without traffic. close() ends them: HTTP/2
 * sessions get a GOAWAY (in-flight streams finish), HTTP/1.1 sockets end; whatever is left after the
 * grace period is cut.
 */
function trackConnections(server: Http2SecureServer, idleTimeoutMs: number) {
  server.setTimeout(idleTimeoutMs);
  const sockets = new Set<TLSSocket>();
  const sessions = new Set<ServerHttp2Session>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    closeAll(graceMs: number): void {
      for (const session of sessions) session.close();
      for (const socket of sockets) if (socket.alpnProtocol !== 'h2') socket.end();
      setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs).unref();
    },
  };
}
