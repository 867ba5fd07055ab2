import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessDenied } from '../access/errors.js';
import type { Permission } from '../access/permissions.js';
import type { AccessService } from '../access/service.js';
import type { ApprovalGate } from '../approvals/gate.js';
import { ManagementError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { KEYHOLD_VERSION } from '../core/version.js';
import type { KeyService } from '../keys/service.js';
import type { KeystoreService } from '../keystores/keystore-service.js';
import { checkBearer } from './bearer-auth.js';
import { accessRoutes } from './routes/access.js';
import { approvalRoutes } from './routes/approvals.js';
import { backupRoutes } from './routes/backups.js';
import type { NodeBackups } from '../backup/node-backups.js';
import type { KillSwitch } from '../kill-switch/kill-switch.js';
import type { AdminEventSink } from '../audit/admin-events.js';
import { recordAdminRequests } from './plugins/audit-hook.js';
import { auditRoutes, type AuditApi } from './routes/audit.js';
import { keyRoutes } from './routes/keys.js';
import { keystoreRoutes } from './routes/keystores.js';
import type { FleetView } from '../fleet/fleet-view.js';
import { nodeRoutes, type NodeStatus } from './routes/node.js';
import { unsealRoutes } from './routes/unseal.js';
import { routePermission } from './permissions.js';
import { RootSealedError } from '../roots/root-of-trust.js';
import type { UnsealService } from '../unseal/service.js';
import { policyRoutes } from './routes/policies.js';
import type { PolicyService } from '../policies/service.js';
import type { Metrics } from '../metrics/metrics.js';
import { metricsRoutes } from './routes/metrics.js';

/** What the admin API plugin is built with: the services its routes call. */
export interface AdminApiDeps {
  keystores: KeystoreService;
  keys: KeyService;
  /** Resolves bearer tokens to actors; users, roles and tokens. */
  access: AccessService;
  /** Quorum approvals for gated operations. */
  approvals: ApprovalGate;
  /** Backups through the API (POST /backups, docs/backup.md#api); absent: the route is not offered. */
  backups?: NodeBackups;
  policies: PolicyService;
  killSwitch: KillSwitch;
  nodeStatus: () => Promise<NodeStatus>;
  /** The fleet view (`GET /api/v1/fleet`). */
  fleet: () => Promise<FleetView>;
  /** When a metrics sample was taken (GET /api/v1/metrics `at`). */
  clock: Clock;
  /** Unseal status and share entry (docs/unseal.md); while sealed, key changes are refused. */
  unseal?: UnsealService;
  /** The node's metrics as Prometheus renders them (every worker's under `serve --workers N`), for GET /api/v1/metrics. */
  metrics?: Pick<Metrics, 'render'>;
  /** The audit log: search routes, and where mutating admin requests are recorded. */
  audit?: AuditApi & { adminEvents: AdminEventSink };
}

/** Routes that change keys need the root of trust; a sealed node refuses them before touching anything. */
const NEEDS_UNSEALED_ROOT: ReadonlySet<Permission> = new Set(['keys:create', 'keys:manage', 'keys:destroy']);
const SEALED_REFUSAL = 'the node is sealed; its key custodians must enter their shares (keyhold unseal) before keys can change';

const STATUS_BY_KIND: Record<ManagementError['kind'], number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
};

/** A client's mistake Fastify reported (a failed validation, a malformed body): its status and message. */
function clientError(error: unknown): { status: number; message: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
  const validation = 'validation' in error && Boolean(error.validation);
  if (!validation && !(status && status < 500)) return undefined;
  return { status: status ?? 400, message: 'message' in error && typeof error.message === 'string' ? error.message : 'invalid request' };
}

/**
 * The admin REST API under /api/v1. Every route requires a bearer API token (a user's, a service
 * token, or the bootstrap token) and declares the permission it needs (`config.permission`), or is
 * explicitly public (`publicRoute()`: login) or open to any valid token (`authenticatedRoute()`: whoami);
 * a route that declares none of these is refused at startup.
 * Errors are `{ "error": "<one line>" }` with 400/401/403/404/409.
 */
export async function adminApi(app: FastifyInstance, deps: AdminApiDeps): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (!route.config?.permission && !route.config?.public && !route.config?.authenticated && route.method !== 'HEAD') {
      throw new Error(`admin route ${String(route.method)} ${route.url} declares no permission`);
    }
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config.public) return;
    const permission = request.routeOptions.config.permission;
    const checked = await checkBearer(deps.access, request.headers.authorization, permission);
    if (!checked.ok) return reply.code(checked.status).send({ error: checked.error });
    request.actor = checked.actor;
    if (permission && NEEDS_UNSEALED_ROOT.has(permission) && deps.unseal && !deps.unseal.serving()) {
      return reply.code(409).send({ error: SEALED_REFUSAL });
    }
  });

  if (deps.audit) recordAdminRequests(app, deps.audit.adminEvents);

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (error instanceof ManagementError) return reply.code(STATUS_BY_KIND[error.kind]).send({ error: error.message });
    if (error instanceof RootSealedError) return reply.code(409).send({ error: error.message });
    if (error instanceof AccessDenied) return reply.code(error.status).send({ error: error.message });
    const refused = clientError(error);
    if (refused) return reply.code(refused.status).send({ error: refused.message });
    reply.log.error({ err: error }, 'admin request failed');
    return reply.code(500).send({ error: 'internal error; see the node log' });
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'no such admin API route' }));

  await registerOpenApi(app);
  await app.register(nodeRoutes, { nodeStatus: deps.nodeStatus, fleet: deps.fleet, killSwitch: deps.killSwitch });
  await app.register(keystoreRoutes, { keystores: deps.keystores, gate: deps.approvals });
  await app.register(keyRoutes, { keys: deps.keys, keystores: deps.keystores, gate: deps.approvals });
  await app.register(accessRoutes, { access: deps.access, gate: deps.approvals });
  await app.register(approvalRoutes, { gate: deps.approvals });
  if (deps.backups) await app.register(backupRoutes, { backups: deps.backups, gate: deps.approvals });
  await app.register(policyRoutes, { policies: deps.policies, gate: deps.approvals });
  if (deps.unseal) await app.register(unsealRoutes, { unseal: deps.unseal });
  if (deps.audit) await app.register(auditRoutes, { audit: deps.audit });
  if (deps.metrics) await app.register(metricsRoutes, { metrics: deps.metrics, clock: deps.clock });
}

/**
 * The OpenAPI document of every admin route, at GET /api/v1/openapi.json (permission node:read: it maps
 * the whole management surface, which anonymous callers have no need to see). Each operation carries
 * `x-keyhold-permission` and a bearer security requirement (none for public routes).
 */
async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Keyhold admin API', version: KEYHOLD_VERSION, description: 'Management API of a Keyhold node. See docs/access.md.' },
      components: { securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer', description: 'an API token (kh_…)' } } },
    },
    transform: ({ schema, url, route }) => {
      const isPublic = route.config?.public === true;
      // Extensions beside the route's own schema (FastifySchema's declared keys are the validated parts only).
      const documented = {
        ...schema,
        'x-keyhold-permission': isPublic ? 'public' : (route.config?.permission ?? 'authenticated'),
        security: isPublic ? [] : [{ bearerToken: [] }],
      };
      return { url, schema: documented };
    },
  });
  app.get('/openapi.json', { config: routePermission('node:read'), schema: { summary: 'This OpenAPI document' } }, () => app.swagger());
}
