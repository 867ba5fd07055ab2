import type { FastifyInstance } from 'fastify';
import type { KillSwitch } from '../../kill-switch/kill-switch.js';
import { routePermission } from '../permissions.js';

export interface NodeStatus {
  version: string;
  nodeId: string;
  rootOfTrust: string;
  /** The root's own liveness (e.g. an HSM session lost) and what it is (e.g. the token model). */
  rootOfTrustState?: string;
  rootOfTrustModel?: string;
  ekmHealth: string;
  keystores: number;
  keys: number;
  /** Which worker process answered, of how many (`serve --workers N`; 1 of 1 otherwise). */
  worker: { index: number; count: number; pid: number };
}

export async function nodeRoutes(
  app: FastifyInstance,
  options: { nodeStatus: () => Promise<NodeStatus>; killSwitch: KillSwitch },
): Promise<void> {
  app.get('/node', { config: routePermission('node:read') }, async () => options.nodeStatus());

  app.get('/node/kill-switch', { config: routePermission('node:read') }, async () => options.killSwitch.status());

  /** `{ "on": true, "reason": "…" }` stops every XKS key operation on every keystore; `{ "on": false }` resumes. */
  app.put<{ Body: { on: boolean; reason?: string } }>(
    '/node/kill-switch',
    {
      config: routePermission('node:kill-switch'),
      schema: {
        body: {
          type: 'object',
          required: ['on'],
          additionalProperties: false,
          properties: { on: { type: 'boolean' }, reason: { type: 'string' } },
        },
      },
    },
    async (request) => (request.body.on ? options.killSwitch.engage({ reason: request.body.reason ?? '' }) : options.killSwitch.release()),
  );
}
