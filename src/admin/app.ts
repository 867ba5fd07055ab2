import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ManagementError } from '../core/errors.js';
import type { KeyService } from '../keys/service.js';
import type { KeystoreService } from '../keystores/service.js';
import type { AdminEventSink } from '../audit/admin-events.js';
import { recordAdminRequests } from './plugins/audit-hook.js';
import { auditRoutes, type AuditApi } from './routes/audit.js';
import { keyRoutes } from './routes/keys.js';
import { keystoreRoutes } from './routes/keystores.js';
import { nodeRoutes, type NodeStatus } from './routes/node.js';
import { PERMISSIONS, type Actor } from './permissions.js';
import { matchesAnyToken } from './token.js';

export interface AdminApiDeps {
  keystores: KeystoreService;
  keys: KeyService;
  tokenHashes: () => readonly Buffer[];
  nodeStatus: () => Promise<NodeStatus>;
  /** The audit log: search routes, and where mutating admin requests are recorded. */
  audit?: AuditApi & { adminEvents: AdminEventSink };
}

const STATUS_BY_KIND: Record<ManagementError['kind'], number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
};

/** The bootstrap token from `init` acts as an administrator. */
const BOOTSTRAP_ACTOR: Actor = { kind: 'token', id: 'bootstrap', name: 'bootstrap', permissions: new Set(PERMISSIONS) };

/**
 * The admin REST API under /api/v1. Every route requires a bearer admin token and declares the
 * permission it needs (`config.permission`); a route that declares none is refused at startup.
 * Errors are `{ "error": "<one line>" }` with 400/401/403/404/409.
 */
export async function adminApi(app: FastifyInstance, deps: AdminApiDeps): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (!route.config?.permission && route.method !== 'HEAD') {
      throw new Error(`admin route ${String(route.method)} ${route.url} declares no permission`);
    }
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token || !matchesAnyToken(token, deps.tokenHashes())) {
      return reply.code(401).send({ error: 'missing or invalid admin token' });
    }
    request.actor = BOOTSTRAP_ACTOR;
    const permission = request.routeOptions.config?.permission;
    if (permission && !request.actor.permissions.has(permission)) {
      return reply.code(403).send({ error: `this needs the ${permission} permission` });
    }
  });

  if (deps.audit) recordAdminRequests(app, deps.audit.adminEvents);

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (error instanceof ManagementError) return reply.code(STATUS_BY_KIND[error.kind]).send({ error: error.message });
    const fastifyError = error as { validation?: unknown; statusCode?: number; message?: string };
    if (fastifyError.validation || (fastifyError.statusCode && fastifyError.statusCode < 500)) {
      return reply.code(fastifyError.statusCode ?? 400).send({ error: fastifyError.message ?? 'invalid request' });
    }
    reply.log.error({ err: error }, 'admin request failed');
    return reply.code(500).send({ error: 'internal error; see the node log' });
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'no such admin API route' }));

  await app.register(nodeRoutes, { nodeStatus: deps.nodeStatus });
  await app.register(keystoreRoutes, { keystores: deps.keystores });
  await app.register(keyRoutes, { keys: deps.keys });
  if (deps.audit) await app.register(auditRoutes, { audit: deps.audit });
}
