import type { EkmHealth } from '../../roots/root-of-trust.js';

export interface HealthStatusResponse {
  xksProxyFleetSize: number;
  xksProxyVendor: string;
  xksProxyModel: string;
  ekmVendor: string;
  ekmFleetDetails: EkmDetail[];
}

/** One node's entry of `ekmFleetDetails`. */
export interface EkmDetail {
  id: string;
  model: string;
  healthStatus: EkmHealth;
}

export interface HealthFacts {
  version: string;
  /** Live nodes of the fleet, this one included. */
  fleetSize: number;
  /** The answering node's entry: its own root of trust's state (the cached deep check). */
  ekm: EkmDetail;
  /** The other live nodes' entries, as each reported at its last heartbeat (docs/fleet.md#fleet-view). */
  peers?: EkmDetail[];
}

/**
 *= docs/requirements.md#health
 *# 63. [MUST] A 200 answer has `xksProxyFleetSize`, `xksProxyVendor`, `xksProxyModel`, `ekmVendor` and `ekmFleetDetails` of `id`, `model`, `healthStatus`.
 *# 64. [MUST] `xksProxyFleetSize` is a JSON integer greater than 0.
 *# 65. [MUST] `xksProxyVendor` and `ekmVendor` are both present, even when they name the same vendor.
 *# 66. [SHOULD] `xksProxyModel` names the product and its version.
 *# 67. [SHOULD] Each `ekmFleetDetails[].model` names the product, its hardware version and what helps troubleshooting or sizing.
 *# 68. [MUST] `ekmFleetDetails` has between 1 and 10 entries.
 *# 69. [MUST] Each `healthStatus` is `ACTIVE`, `DEGRADED` or `UNAVAILABLE`.
 */
const MAX_FLEET_DETAILS = 10;

export function getHealthStatus(facts: HealthFacts): HealthStatusResponse {
  return {
    xksProxyFleetSize: Math.max(1, Math.trunc(facts.fleetSize)),
    xksProxyVendor: 'Keyhold',
    xksProxyModel: `Keyhold XKS Proxy ${facts.version}`,
    ekmVendor: 'Keyhold',
    // One entry per live node, the answering node first; at most 10 (item 68), so a larger fleet lists 10.
    ekmFleetDetails: [facts.ekm, ...(facts.peers ?? [])].slice(0, MAX_FLEET_DETAILS),
  };
}
