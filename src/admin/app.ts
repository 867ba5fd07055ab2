import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ManagementError } from '../core/errors.js';
import type { KeyService } from '../keys/service.js';
import type { KeystoreService } from '../keystores/service.js';
import { keyRoutes } from './routes/keys.js';
import { keystoreRoutes } from './routes/keystores.js';
import { nodeRoutes, type NodeStatus } from './routes/node.js';
import { unsealRoutes } from './routes/unseal.js';
import { PERMISSIONS, type Actor, type Permission } from './permissions.js';
import { RootSealedError } from '../roots/root-of-trust.js';
import type { UnsealService } from '../unseal/service.js';
import { matchesAnyToken } from './token.js';

export interface AdminApiDeps {
  keystores: KeystoreService;
  keys: KeyService;
  tokenHashes: () => readonly Buffer[];
  nodeStatus: () => Promise<NodeStatus>;
  /** Unseal status and share entry (docs/unseal.md); while sealed, key changes are refused. */
  unseal?: UnsealService;
}

/** Routes that change keys need the root of trust; a sealed node refuses them before touching anything. */
const NEEDS_UNSEALED_ROOT: ReadonlySet<Permission> = new Set(['keys:create', 'keys:manage', 'keys:destroy']);
const SEALED_REFUSAL = 'the node is sealed; its key custodians must enter their shares (keyhold unseal) before keys can change';

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
    if (permission && NEEDS_UNSEALED_ROOT.has(permission) && deps.unseal && !deps.unseal.serving()) {
      return reply.code(409).send({ error: SEALED_REFUSAL });
    }
  });

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (error instanceof ManagementError) return reply.code(STATUS_BY_KIND[error.kind]).send({ error: error.message });
    if (error instanceof RootSealedError) return reply.code(409).send({ error: error.message });
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
  if (deps.unseal) await app.register(unsealRoutes, { unseal: deps.unseal });
}
