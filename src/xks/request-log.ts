/**
 * Which XKS requests get an info-level `xks.request` log line.
 * - all: every request (one line each; what `--log-level info` always did).
 * - errors: requests answered with an error (and successes a policy in audit mode would have denied);
 *   a success is recorded by its audit event alone, which holds the same facts (keystore, key, version,
 *   kmsRequestId, principal, VPC, outcome, latency) and, in durable mode, is committed before the answer.
 */
export type XksRequestLog = 'all' | 'errors';
export const XKS_REQUEST_LOGS: readonly XksRequestLog[] = ['all', 'errors'];

export function parseRequestLog(value: string): XksRequestLog {
  if ((XKS_REQUEST_LOGS as readonly string[]).includes(value)) return value as XksRequestLog;
  throw new Error(`expected ${XKS_REQUEST_LOGS.join(' or ')}, got "${value}"`);
}

/**
 * `keyhold serve`'s default: `errors` while every answered request is in the audit log (durable and
 * fail-closed modes), `all` in lossy mode, where an audit event can be dropped and the log line may be
 * the only trace of a request. `auditMode` is an `AuditMode` of src/audit/, passed by name: the data plane
 * does not import the audit feature (docs/architecture.md#layers).
 */
export function defaultRequestLog(auditMode: string): XksRequestLog {
  return auditMode === 'lossy' ? 'all' : 'errors';
}
