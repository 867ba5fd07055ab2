import type { Registry } from 'prom-client';
import { HotPathCounter, HotPathHistogram, type CounterSeries, type HistogramSeries } from './hot-path-metrics.js';
import type { XksObserver } from '../xks/pipeline-ports.js';
import type { XksRequestRecord } from '../xks/request-record.js';
import { throttleReason } from '../throttle/admission.js';
import { authFailureLabel, errorTypeOf, exceptionNameOf, kmsOperationLabel, NONE } from './xks-labels.js';

/**
 * Latency buckets in seconds (Prometheus base unit): fine from 0.5 ms to 250 ms, KMS's timeout for a
 * proxy answer (docs/kms-client.md#timeouts-retries), then 500 ms and 1 s for answers KMS no longer waits for.
 */
export const XKS_LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1];

/** The series one (keystore, kmsOperation, xksOperation) triple updates, found with one Map lookup. */
interface OperationSeries {
  latency: HistogramSeries;
  /** XksProxyErrors series by exception name ('None' for success). */
  answers: Map<string, CounterSeries>;
}

/**
 * The per-request XKS metrics, named after the CloudWatch metrics KMS publishes for an external key store
 * where one exists (docs/metrics.md has the mapping). Fed by the handler after each answer; no I/O, and
 * after a series' first use, no allocation beyond one lookup key.
 */
export function createXksRequestMetrics(registry: Registry): XksObserver {
  const latency = new HotPathHistogram(
    'keyhold_xks_proxy_latency_seconds',
    'Time from the arrival of an XKS request to its answer, audit commit included (CloudWatch XksProxyLatency)',
    ['keystore', 'kms_operation', 'xks_operation'],
    XKS_LATENCY_BUCKETS,
    registry,
  );
  const answers = new HotPathCounter(
    'keyhold_xks_proxy_errors_total',
    'XKS answers, successes included (exception_name="None"), by error type and exception (CloudWatch XksProxyErrors)',
    ['keystore', 'kms_operation', 'xks_operation', 'error_type', 'exception_name'],
    registry,
  );
  const throttles = new HotPathCounter(
    'keyhold_xks_proxy_throttles_total',
    'XKS requests Keyhold answered with 429 ThrottlingException, by reason: quota (keystore quota), concurrency (in-flight limit), queue-time (waited too long), overload (event loop behind)',
    ['keystore', 'xks_operation', 'reason'],
    registry,
  );
  const authFailures = new HotPathCounter(
    'keyhold_xks_authentication_failures_total',
    'XKS requests refused with AuthenticationFailedException, by why the SigV4 check failed',
    ['keystore', 'reason'],
    registry,
  );
  const policyDenials = new HotPathCounter(
    'keyhold_xks_policy_denials_total',
    'XKS key operations a policy rule denied (mode="enforce"), or would have denied (mode="audit-only")',
    ['keystore', 'rule_id', 'mode'],
    registry,
  );

  const operations = new Map<string, OperationSeries>();
  function operationSeries(keystore: string, kmsOperation: string, xksOperation: string): OperationSeries {
    const key = `${keystore}\u0001${kmsOperation}\u0001${xksOperation}`;
    let series = operations.get(key);
    if (series === undefined) {
      series = { latency: latency.seriesFor([keystore, kmsOperation, xksOperation]), answers: new Map() };
      operations.set(key, series);
    }
    return series;
  }

  function countAnswer(
    series: OperationSeries,
    keystore: string,
    kmsOperation: string,
    xksOperation: string,
    errorName: string | undefined,
  ): void {
    const exceptionName = exceptionNameOf(errorName);
    let counter = series.answers.get(exceptionName);
    if (counter === undefined) {
      counter = answers.seriesFor([keystore, kmsOperation, xksOperation, errorTypeOf(errorName), exceptionName]);
      series.answers.set(exceptionName, counter);
    }
    counter.inc();
  }

  return {
    observe(record: XksRequestRecord, latencyMs: number): void {
      const keystore = record.keystore ?? NONE;
      const xksOperation = record.xksOperation ?? NONE;
      const kmsOperation = kmsOperationLabel(record.metadata?.kmsOperation);
      const errorName = record.errorName;
      const series = operationSeries(keystore, kmsOperation, xksOperation);
      series.latency.observe(latencyMs / 1000);
      countAnswer(series, keystore, kmsOperation, xksOperation, errorName);
      if (errorName === undefined) {
        if (record.policyWouldDeny && record.policyRuleId) policyDenials.seriesFor([keystore, record.policyRuleId, 'audit-only']).inc();
        return;
      }
      // Refusals are the uncommon path: a lookup by joined label values is cheap enough there.
      if (errorName === 'ThrottlingException')
        throttles.seriesFor([keystore, xksOperation, throttleReason(record.detail) ?? 'other']).inc();
      else if (errorName === 'AuthenticationFailedException')
        authFailures.seriesFor([keystore, authFailureLabel(record.authFailure ?? 'other')]).inc();
      else if (errorName === 'AccessDeniedException' && record.policyRuleId)
        policyDenials.seriesFor([keystore, record.policyRuleId, 'enforce']).inc();
      else if (record.policyWouldDeny && record.policyRuleId) policyDenials.seriesFor([keystore, record.policyRuleId, 'audit-only']).inc();
    },
  };
}
