import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import { adminApi, type AdminApiDeps } from '../admin/app.js';
import { CONSOLE_DIRECTORY, consoleRoutes } from '../admin/routes/console.js';
import { observabilityRoutes, type ObservabilityRouteDeps } from '../admin/routes/observability.js';
import { KEYHOLD_VERSION } from '../core/version.js';
import { answerMalformedRequest } from './client-errors.js';
import type { ClusterMember } from './cluster/cluster-member.js';
import { announceAdminChanges } from './cluster/node-membership.js';
import type { AdminRoute } from './running-node.js';
import { isAdminPath, xksListenerSide } from './listener-routes.js';
import {
  applyTransportLimits,
  DEFAULT_TRANSPORT_LIMITS,
  refuseHeaderOverflow,
  transportServerOptions,
  type TransportLimits,
} from './transport-limits.js';
import { tlsServerOptions, type ClientAuth, type TlsPem } from './tls-options.js';

export { isAdminPath } from './listener-routes.js';

export interface HttpsFrontOptions {
  logger: Logger;
  tls: TlsPem;
  /** Mutual TLS on the XKS listener (client-cert-guard.ts judges the certificates). */
  xksClientAuth?: ClientAuth;
  /** Transport limits on every listener (default DEFAULT_TRANSPORT_LIMITS). */
  transport?: TransportLimits;
  /** Set: the admin side gets a listener of its own, and the XKS listener serves only XKS and health paths. */
  adminListener?: { clientAuth?: ClientAuth };
  /** The XKS data plane: every request outside the admin side's paths. */
  handleXks: (request: Http2ServerRequest, response: Http2ServerResponse) => Promise<void>;
  /** /metrics, /healthz and /readyz. */
  observability: ObservabilityRouteDeps;
  /** The admin API under /api/v1. */
  admin: AdminApiDeps;
  /** The built web console (docs/console.md); default console/dist of the package. */
  consoleDirectory?: string;
  /** Set for a worker of `serve --workers N`: admin changes are announced to the other workers. */
  member?: ClusterMember;
}

/** The node's HTTPS listeners, built but not listening yet. */
export interface HttpsFront {
  /** The XKS listener's HTTP/2 server (HTTP/1.1 allowed); in single-listener mode both sides share it. */
  server: Http2SecureServer;
  /** The admin listener's server, in split mode. */
  adminServer?: Http2SecureServer;
  /** Every admin API route, as registered. */
  adminRoutes: AdminRoute[];
  /** Starts the XKS listener (the only one in single-listener mode). */
  listen(host: string, port: number): Promise<void>;
  /** Starts the admin listener (split mode only). */
  listenAdmin(host: string, port: number): Promise<void>;
  /** Stops listening and closes the admin side (in-flight requests finish; see trackConnections for the rest). */
  close(): Promise<void>;
}

/**
 * HTTPS servers (HTTP/2, HTTP/1.1 allowed): XKS paths go straight to the data plane handler, the rest to
 * Fastify (the admin API, /ping, /metrics, /healthz, /readyz). One server for both planes, or (adminListener)
 * one for XKS and health checks and one for the admin side (listener-routes.ts).
 */
export async function createHttpsFront(options: HttpsFrontOptions): Promise<HttpsFront> {
  const { handleXks, member } = options;
  let server: Http2SecureServer | undefined;
  let adminServer: Http2SecureServer | undefined;
  const split = options.adminListener !== undefined;
  const limits = options.transport ?? DEFAULT_TRANSPORT_LIMITS;
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
    /*= docs/requirements.md#transport
     *# 9. [MUST] The API is served over HTTPS only; no plain-HTTP listener serves it in production. */
    serverFactory: (handleAdmin) => {
      server = createSecureServer(
        { ...tlsServerOptions(options.tls, options.xksClientAuth), ...transportServerOptions(limits) },
        refuseHeaderOverflow(limits, (request: Http2ServerRequest, response: Http2ServerResponse) => {
          if (split ? xksListenerSide(request.url) === 'admin' : isAdminPath(request.url)) handleAdmin(request, response);
          else void handleXks(request, response);
        }),
      );
      if (options.adminListener) {
        adminServer = createSecureServer(
          { ...tlsServerOptions(options.tls, options.adminListener.clientAuth), ...transportServerOptions(limits) },
          refuseHeaderOverflow(limits, handleAdmin),
        );
      }
      return server;
    },
  });
  // Fastify calls the factory while it is constructed.
  if (server === undefined) throw new Error('the HTTPS server was not created');
  // After Fastify, which sets its own timeouts on the server it was given.
  applyTransportLimits(server, limits);
  if (adminServer) applyTransportLimits(adminServer, limits);

  /*= docs/requirements.md#authorization-logging-operations
   *# 101. [MUST] The health checks of the supported load balancers are answered (e.g. `GET /ping` → 200), never on the API URIs. */
  app.get('/ping', async (_request, reply) => reply.type('text/plain').send(`pong from keyhold v${KEYHOLD_VERSION}`));
  if (member) app.addHook('onSend', announceAdminChanges(member));
  const adminRoutes: AdminRoute[] = [];
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    for (const method of [route.method].flat())
      adminRoutes.push({
        method,
        url: route.url,
        permission: route.config?.permission,
        public: route.config?.public,
        authenticated: route.config?.authenticated,
      });
  });
  await app.register(observabilityRoutes, options.observability);
  await app.register(consoleRoutes, { directory: options.consoleDirectory ?? CONSOLE_DIRECTORY });
  await app.register(adminApi, { prefix: '/api/v1', ...options.admin });
  const admin = adminServer;
  return {
    server,
    adminServer,
    adminRoutes,
    async listen(host, port) {
      await app.listen({ host, port });
    },
    async listenAdmin(host, port) {
      if (!admin) throw new Error('this node has no admin listener (single-listener mode)');
      await new Promise<void>((resolve, reject) => {
        admin.once('error', reject);
        admin.listen({ host, port }, () => {
          admin.off('error', reject);
          resolve();
        });
      });
    },
    async close() {
      const adminClosed = admin?.listening ? new Promise<void>((resolve) => admin.close(() => resolve())) : undefined;
      await app.close();
      await adminClosed;
    },
  };
}
