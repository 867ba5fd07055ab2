import type { FastifyContextConfig, FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { Authentication } from '../../access/service.js';
import { READINESS_CHECKS, type ReadinessCheckName, type ReadinessProbe } from '../../health/readiness.js';
import type { Metrics } from '../../metrics/metrics.js';
import { checkBearer } from '../bearer-auth.js';
import { publicRoute, routePermission } from '../permissions.js';

export interface ObservabilityRouteDeps {
  /** Renders the exposition: this node's registry, or (a worker of `serve --workers N`) every worker's, summed. */
  metrics: Pick<Metrics, 'render'>;
  readiness: ReadinessProbe;
  access: Pick<Authentication, 'authenticate'>;
  /** Serve /metrics without a token (`keyhold serve --metrics-public`), like Vault's unauthenticated_metrics_access. */
  metricsPublic?: boolean;
}

const NO_STORE = 'no-store';

const isReadinessCheck = (name: string): name is ReadinessCheckName => READINESS_CHECKS.some((check) => check === name);

/** `?exclude=a&exclude=b,c` → ['a', 'b', 'c'] (given once, repeated, or comma-separated). */
function excludedChecks(query: unknown): string[] {
  const value = typeof query === 'object' && query !== null && 'exclude' in query ? query.exclude : undefined;
  return [value ?? []]
    .flat()
    .filter((item): item is string => typeof item === 'string')
    .flatMap((item) => item.split(','))
    .filter(Boolean);
}

/**
 * Endpoints for monitoring systems and orchestrators, on the node's HTTPS port outside /api/v1
 * (docs/metrics.md). GET /metrics needs a token with metrics:read unless the node serves it publicly;
 * /healthz and /readyz are public and say nothing secret.
 */
export const observabilityRoutes: FastifyPluginCallback<ObservabilityRouteDeps> = (app: FastifyInstance, deps, done) => {
  const metricsAccess: FastifyContextConfig = deps.metricsPublic ? publicRoute() : routePermission('metrics:read');
  app.get('/metrics', { config: metricsAccess }, async (request, reply) => {
    reply.header('cache-control', NO_STORE);
    if (!deps.metricsPublic) {
      const checked = await checkBearer(deps.access, request.headers.authorization, 'metrics:read');
      if (!checked.ok) return reply.code(checked.status).send({ error: checked.error });
    }
    const { contentType, body } = await deps.metrics.render();
    return reply.type(contentType).send(body);
  });

  /**
   * Liveness: 200 whenever the process serves HTTP; it checks no dependency, so an orchestrator never
   * restarts a node for a database outage it would survive.
   *
   *= docs/requirements.md#authorization-logging-operations
   *# 101. [MUST] The health checks of the supported load balancers are answered (e.g. `GET /ping` → 200), never on the API URIs.
   */
  app.get('/healthz', { config: publicRoute() }, (_request, reply) => reply.header('cache-control', NO_STORE).send({ status: 'alive' }));

  /**
   * Readiness: 200 only when every check passes (503 otherwise), with each check's state. `?exclude=NAME`
   * (repeatable, or comma-separated) leaves a check out of the verdict, as Kubernetes' own /readyz does.
   */
  app.get('/readyz', { config: publicRoute() }, async (request, reply) => {
    reply.header('cache-control', NO_STORE);
    const exclude = excludedChecks(request.query);
    const unknown = exclude.find((name) => !isReadinessCheck(name));
    if (unknown !== undefined) {
      return reply
        .code(400)
        .send({ error: `unknown readiness check "${unknown.slice(0, 64)}"; checks are ${READINESS_CHECKS.join(', ')}` });
    }
    const result = await deps.readiness(new Set(exclude.filter(isReadinessCheck)));
    return reply
      .code(result.ready ? 200 : 503)
      .send({ status: result.ready ? 'ready' : 'not ready', excluded: exclude, checks: result.checks });
  });

  done();
};
