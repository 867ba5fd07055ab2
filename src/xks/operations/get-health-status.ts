import type { EkmHealth } from '../../roots/root-of-trust.js';

export interface HealthStatusResponse {
  xksProxyFleetSize: number;
  xksProxyVendor: string;
  xksProxyModel: string;
  ekmVendor: string;
  ekmFleetDetails: { id: string; model: string; healthStatus: EkmHealth }[];
}

export interface HealthFacts {
  version: string;
  fleetSize: number;
  ekm: { id: string; model: string; healthStatus: EkmHealth };
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
export function getHealthStatus(facts: HealthFacts): HealthStatusResponse {
  return {
    xksProxyFleetSize: Math.max(1, Math.trunc(facts.fleetSize)),
    xksProxyVendor: 'Keyhold',
    xksProxyModel: `Keyhold XKS Proxy ${facts.version}`,
    ekmVendor: 'Keyhold',
    ekmFleetDetails: [facts.ekm],
  };
}
