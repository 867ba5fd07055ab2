import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { Type } from 'typebox';
import type { Clock } from '../../core/clock.js';
import { expositionSamples } from '../../metrics/exposition-json.js';
import type { Metrics } from '../../metrics/metrics.js';
import { routePermission } from '../permissions.js';

/** What the metrics route is built with. */
export interface MetricsRouteOptions {
  /** The node's rendering of /metrics (every worker's under `serve --workers N`). */
  metrics: Pick<Metrics, 'render'>;
  clock: Clock;
}

const Sample = Type.Object({
  name: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  value: Type.Unsafe<number | string | null>({
    type: ['number', 'string', 'null'],
    description: "a number; '+Inf' / '-Inf'; null for NaN",
  }),
});
const MetricsAnswer = Type.Object({
  at: Type.String({ description: 'when the sample was taken (ISO 8601)' }),
  samples: Type.Array(Sample),
});

/**
 * GET /api/v1/metrics: what GET /metrics serves, as JSON samples, with the same permission (metrics:read:
 * the monitor, auditor and administrator roles), for the web console's overview (docs/metrics.md#json).
 */
export const metricsRoutes: FastifyPluginCallback<MetricsRouteOptions> = (app: FastifyInstance, { metrics, clock }, done) => {
  app.get(
    '/metrics',
    {
      config: routePermission('metrics:read'),
      schema: {
        summary: "The node's Prometheus metrics as JSON samples (cumulative counters and histograms)",
        response: { 200: MetricsAnswer },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      const { body } = await metrics.render();
      return { at: new Date(clock.now()).toISOString(), samples: expositionSamples(body) };
    },
  );
  done();
};
