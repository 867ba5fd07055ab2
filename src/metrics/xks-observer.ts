import { Counter, Histogram, type Registry } from 'prom-client';
import type { XksObserver } from '../xks/pipeline-ports.js';
import type { XksRequestRecord } from '../xks/request-record.js';
import { authFailureLabel, errorTypeOf, exceptionNameOf, kmsOperationLabel, NONE } from './xks-labels.js';

/**
 * Latency buckets in seconds (Prometheus base unit): fine from 0.5 ms to 250 ms, KMS's timeout for a
 * proxy answer (kms-behaviour.md §1.7), then 500 ms and 1 s for answers KMS no longer waits for.
 */
export const XKS_LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1];

/**
 * A label child per distinct label-value tuple, made once: the hot path does a Map lookup instead of
 * prom-client's label validation and hashing of a fresh label object per call.
 */
class Children<C> {
  private readonly byKey = new Map<string, C>();
  constructor(private readonly make: (values: string[]) => C) {}

  get(...values: string[]): C {
    const key = values.join('\u0001');
    let child = this.byKey.get(key);
    if (child === undefined) {
      child = this.make(values);
      this.byKey.set(key, child);
    }
    return child;
  }
}

/**
 * The per-request XKS metrics, named after the CloudWatch metrics KMS publishes for an external key store
 * where one exists (docs/metrics.md has the mapping). Fed by the handler after each answer; no I/O.
 */
export function createXksRequestMetrics(registry: Registry): XksObserver {
  const registers = [registry];
  const latency = new Histogram({
    name: 'keyhold_xks_proxy_latency_seconds',
    help: 'Time from the arrival of an XKS request to its answer, audit commit included (CloudWatch XksProxyLatency)',
    labelNames: ['keystore', 'kms_operation', 'xks_operation'],
    buckets: XKS_LATENCY_BUCKETS,
    registers,
  });
  const requests = new Counter({
    name: 'keyhold_xks_proxy_errors_total',
    help: 'XKS answers, successes included (exception_name="None"), by error type and exception (CloudWatch XksProxyErrors)',
    labelNames: ['keystore', 'kms_operation', 'xks_operation', 'error_type', 'exception_name'],
    registers,
  });
  const throttles = new Counter({
    name: 'keyhold_xks_proxy_throttles_total',
    help: 'XKS requests Keyhold answered with 429 ThrottlingException (keystore quota or load shedding)',
    labelNames: ['keystore', 'xks_operation'],
    registers,
  });
  const authFailures = new Counter({
    name: 'keyhold_xks_authentication_failures_total',
    help: 'XKS requests refused with AuthenticationFailedException, by why the SigV4 check failed',
    labelNames: ['keystore', 'reason'],
    registers,
  });
  const policyDenials = new Counter({
    name: 'keyhold_xks_policy_denials_total',
    help: 'XKS key operations a policy rule denied (mode="enforce"), or would have denied (mode="audit-only")',
    labelNames: ['keystore', 'rule_id', 'mode'],
    registers,
  });

  const latencyOf = new Children((v) => latency.labels(...v));
  const requestsOf = new Children((v) => requests.labels(...v));
  const throttlesOf = new Children((v) => throttles.labels(...v));
  const authFailuresOf = new Children((v) => authFailures.labels(...v));
  const policyDenialsOf = new Children((v) => policyDenials.labels(...v));

  return {
    observe(record: XksRequestRecord, latencyMs: number): void {
      const keystore = record.keystore ?? NONE;
      const xksOperation = record.xksOperation ?? NONE;
      const kmsOperation = kmsOperationLabel(record.metadata?.kmsOperation);
      const errorName = record.errorName;
      latencyOf.get(keystore, kmsOperation, xksOperation).observe(latencyMs / 1000);
      requestsOf.get(keystore, kmsOperation, xksOperation, errorTypeOf(errorName), exceptionNameOf(errorName)).inc();
      if (errorName === undefined) {
        if (record.policyWouldDeny && record.policyRuleId) policyDenialsOf.get(keystore, record.policyRuleId, 'audit-only').inc();
        return;
      }
      if (errorName === 'ThrottlingException') throttlesOf.get(keystore, xksOperation).inc();
      else if (errorName === 'AuthenticationFailedException') authFailuresOf.get(keystore, authFailureLabel(record.authFailure ?? 'other')).inc();
      else if (errorName === 'AccessDeniedException' && record.policyRuleId) policyDenialsOf.get(keystore, record.policyRuleId, 'enforce').inc();
      else if (record.policyWouldDeny && record.policyRuleId) policyDenialsOf.get(keystore, record.policyRuleId, 'audit-only').inc();
    },
  };
}
