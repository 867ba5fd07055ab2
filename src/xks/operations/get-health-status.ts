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
 *= xks-spec.md#14.7
 *# 63. [MUST] The 200 response has `xksProxyFleetSize`, `xksProxyVendor`, `xksProxyModel`, `ekmVendor` and `ekmFleetDetails[].{id,model,healthStatus}`.
 *# 64. [MUST] `xksProxyFleetSize` is a JSON integer > 0.
 *# 65. [MUST] `xksProxyVendor` and `ekmVendor` are both present even when equal.
 *# 66. [SHOULD] `xksProxyModel` includes product name and version.
 *# 67. [SHOULD] `ekmFleetDetails[].model` includes product name, hardware version and other sizing or troubleshooting info.
 *# 68. [MUST] `ekmFleetDetails` has 1 to 10 entries.
 *# 69. [MUST] `healthStatus` ∈ {`ACTIVE`, `DEGRADED`, `UNAVAILABLE`}.
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
