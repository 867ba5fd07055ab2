/**
 * In-memory stand-ins for the CloudWatch metrics XksProxyErrors and XksProxyLatency
 * (docs/kms-client.md#metrics, #simulator-errors). One record per proxy call, retries included in its latency.
 */
import type { ProxyOutcome } from './error-mapping.js';

export type XksOperation = 'GetHealthStatus' | 'GetKeyMetadata' | 'Encrypt' | 'Decrypt';
export type ErrorType = 'N/A' | 'Retryable errors' | 'Non-retryable errors';

export interface ProxyCallRecord {
  customKeyStoreId?: string;
  xksOperation: XksOperation;
  kmsOperation: string;
  /** 'success', or the KMS-side reading of what went wrong. */
  outcome: 'success' | ProxyOutcome['kind'];
  httpStatus?: number;
  errorType: ErrorType;
  exceptionName: string;
  latencyMs: number;
  attempts: number;
}

export interface ProxyMetrics {
  readonly calls: readonly ProxyCallRecord[];
  record(call: ProxyCallRecord): void;
  reset(): void;
}

export function createProxyMetrics(): ProxyMetrics {
  const calls: ProxyCallRecord[] = [];
  return {
    calls,
    record: (call) => void calls.push(call),
    reset: () => void calls.splice(0, calls.length),
  };
}

const RETRYABLE_PROXY_ERRORS = new Set(['InternalException', 'DependencyTimeoutException', 'ThrottlingException']);

/** Transport failures are reported under this KMS-internal name. */
export const UNREACHABLE_EXCEPTION_NAME = 'XksProxyUnreachableException';

/**
 * `ErrorType` / `ExceptionName` per docs/kms-client.md#simulator-errors for one HTTP exchange. [INF] An answer KMS could not
 * accept (bad JSON, unknown errorName, failed response checks) is non-retryable and named
 * `XksProxyInvalidResponseException`; the documentation leaves this case open.
 */
export function classifyForMetrics(outcome: ProxyOutcome | 'success'): Pick<ProxyCallRecord, 'errorType' | 'exceptionName'> {
  if (outcome === 'success') return { errorType: 'N/A', exceptionName: 'None' };
  switch (outcome.kind) {
    case 'proxy-error':
      return {
        errorType: RETRYABLE_PROXY_ERRORS.has(outcome.errorName) ? 'Retryable errors' : 'Non-retryable errors',
        exceptionName: outcome.errorName,
      };
    case 'transport':
      return { errorType: 'Retryable errors', exceptionName: UNREACHABLE_EXCEPTION_NAME };
    default:
      return { errorType: 'Non-retryable errors', exceptionName: 'XksProxyInvalidResponseException' };
  }
}
