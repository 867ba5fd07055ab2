import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import { adminApi, type AdminApiDeps } from '../admin/app.js';
import { CONSOLE_DIRECTORY, consoleRoutes, isConsolePath } from '../admin/routes/console.js';
import { observabilityRoutes, type ObservabilityRouteDeps } from '../admin/routes/observability.js';
import { KEYHOLD_VERSION } from '../core/version.js';
import { answerMalformedRequest } from './client-errors.js';
import type { ClusterMember } from './cluster/cluster-member.js';
import { announceAdminChanges } from './cluster/node-membership.js';
import type { AdminRoute } from './running-node.js';
import { tlsServerOptions } from './tls-options.js';

/** Paths outside /api/ that the admin side serves too (load balancers, monitoring, orchestrators). */
const ADMIN_SIDE_PATHS = ['/ping', '/metrics', '/healthz', '/readyz'];

/** Paths served by the admin side (Fastify): the admin API, the web console; everything else is the XKS data plane. */
export function isAdminPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  if (url.startsWith('/api/')) return true;
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return ADMIN_SIDE_PATHS.includes(path) || isConsolePath(path);
}

export interface HttpsFrontOptions {
  logger: Logger;
  tls: { certPem: string | Buffer; keyPem: string | Buffer };
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

/** The node's one HTTPS port, built but not listening yet. */
export interface HttpsFront {
  /** The HTTP/2 server (HTTP/1.1 allowed) both sides share. */
  server: Http2SecureServer;
  /** Every admin API route, as registered. */
  adminRoutes: AdminRoute[];
  /** Starts listening. */
  listen(host: string, port: number): Promise<void>;
  /** Stops listening and closes the admin side (in-flight requests finish; see trackConnections for the rest). */
  close(): Promise<void>;
}

/**
 * One HTTPS server (HTTP/2, HTTP/1.1 allowed) for both planes: XKS paths go straight to the data plane
 * handler, the rest to Fastify (the admin API, /ping, /metrics, /healthz, /readyz).
 */
export async function createHttpsFront(options: HttpsFrontOptions): Promise<HttpsFront> {
  const { handleXks, member } = options;
  let server: Http2SecureServer | undefined;
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
      server = createSecureServer(tlsServerOptions(options.tls), (request, response) => {
        if (isAdminPath(request.url)) handleAdmin(request, response);
        else void handleXks(request, response);
      });
      return server;
    },
  });
  // Fastify calls the factory while it is constructed.
  if (server === undefined) throw new Error('the HTTPS server was not created');

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
  return {
    server,
    adminRoutes,
    async listen(host, port) {
      await app.listen({ host, port });
    },
    async close() {
      await app.close();
    },
  };
}
