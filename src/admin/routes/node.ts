import type { FastifyInstance } from 'fastify';
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
}

export async function nodeRoutes(app: FastifyInstance, options: { nodeStatus: () => Promise<NodeStatus> }): Promise<void> {
  app.get('/node', { config: routePermission('node:read') }, async () => options.nodeStatus());
}
