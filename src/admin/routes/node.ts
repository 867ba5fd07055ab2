import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FleetView } from '../../fleet/fleet-view.js';
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

/** What the node routes are built with. */
export interface NodeRouteOptions {
  nodeStatus: () => Promise<NodeStatus>;
  /** Every node of the fleet, live or gone (docs/fleet.md#fleet-view). */
  fleet: () => Promise<FleetView>;
  killSwitch: KillSwitch;
}

const KillSwitchBody = Type.Object({ on: Type.Boolean(), reason: Type.Optional(Type.String()) }, { additionalProperties: false });

/** The node's status and its kill switch. */
export const nodeRoutes: FastifyPluginCallback<NodeRouteOptions> = (instance: FastifyInstance, { nodeStatus, fleet, killSwitch }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/node', { config: routePermission('node:read') }, () => nodeStatus());

  app.get('/fleet', { config: routePermission('node:read') }, () => fleet());

  app.get('/node/kill-switch', { config: routePermission('node:read') }, () => killSwitch.status());

  /** `{ "on": true, "reason": "…" }` stops every XKS key operation on every keystore; `{ "on": false }` resumes. */
  app.put('/node/kill-switch', { config: routePermission('node:kill-switch'), schema: { body: KillSwitchBody } }, (request) =>
    request.body.on ? killSwitch.engage({ reason: request.body.reason ?? '' }) : killSwitch.release(),
  );

  done();
};
