/**
 * What a simulated AWS KMS offers: the interface createKmsSimulator (simulator.ts) returns. The KMS API
 * calls come in three groups, each documented with the module that implements it: key stores
 * (key-store-operations.ts), keys (key-operations.ts) and cryptography (crypto-operations.ts). Around
 * them: the simulator's records, its CloudWatch-style metrics, the conformance warnings it collected,
 * and raw access to a proxy for tests that send deliberately wrong requests.
 */
import type { CryptoOperations } from './crypto-operations.js';
import type { KeyOperations } from './key-operations.js';
import type { KeyStoreOperations } from './key-store-operations.js';
import type { ProxyMetrics, XksOperation } from './metrics.js';
import type { CallProxyOptions, ProxyTarget, RawProxyResult } from './proxy-client.js';
import type { SimulatorState } from './state.js';
import type { CheckFailure } from './check-log.js';

/** An answer KMS accepted but that breaks a rule of the spec (an unknown field, a long errorMessage…). */
export interface ConformanceWarning extends CheckFailure {
  xksOperation: XksOperation;
}

/** A proxy target with the low-level call bound to it. */
export interface BoundProxy {
  readonly target: ProxyTarget;
  /** Sends one request (path relative to the target's uriPath unless `rawPath`) and returns the raw answer. */
  callProxy(operation: XksOperation, path: string, body: unknown, options?: CallProxyOptions): Promise<RawProxyResult>;
}

export interface KmsSimulator extends KeyStoreOperations, KeyOperations, CryptoOperations {
  /** KMS's own records: custom key stores and KMS keys (read them; change them only through the calls). */
  readonly state: Readonly<SimulatorState>;
  /** One record per proxy call: the XksProxyErrors and XksProxyLatency dimensions. */
  readonly metrics: ProxyMetrics;
  /** Every conformance warning so far, in order. */
  readonly conformanceWarnings: readonly ConformanceWarning[];
  /** Raw requests to a store's proxy (by id) or to any target, signed as KMS signs unless the options say otherwise. */
  proxyFor(storeIdOrTarget: string | ProxyTarget): BoundProxy;
  /** Closes pooled keep-alive connections. */
  close(): void;
}
