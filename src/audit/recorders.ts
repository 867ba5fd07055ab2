import type { Clock } from '../core/clock.js';
import type { XksRecorder } from '../xks/pipeline-ports.js';
import type { XksRequestRecord } from '../xks/request-record.js';
import type { AdminEvent, AdminEventSink } from './admin-events.js';
import type { AuditLog } from './audit-log.js';
import { sortedJson, type AuditEventFields } from './event.js';

const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/** An answered XKS request as an audit event: metadata and outcome only, never a body. */
export function xksEventFields(record: XksRequestRecord, now: number): AuditEventFields {
  const metadata = record.metadata;
  return {
    time: now,
    kind: 'xks',
    actorKind: 'sigv4',
    actorId: orNull(record.accessKeyId),
    actorName: null,
    action: record.xksOperation ?? 'unknown',
    keystore: orNull(record.keystore),
    keyId: orNull(record.keyId),
    keyVersion: orNull(record.keyVersion),
    kmsOperation: orNull(metadata?.kmsOperation),
    kmsRequestId: orNull(metadata?.kmsRequestId),
    principalArn: orNull(metadata?.awsPrincipalArn),
    sourceVpc: orNull(metadata?.awsSourceVpc),
    sourceVpce: orNull(metadata?.awsSourceVpce),
    kmsViaService: orNull(metadata?.kmsViaService),
    outcome: record.errorName === undefined ? 'success' : record.errorName === 'AccessDeniedException' ? 'denied' : 'error',
    status: orNull(record.status),
    errorName: orNull(record.errorName),
    detail: orNull(record.authFailure ?? record.detail),
    policyRuleId: orNull(record.policyRuleId),
    latencyUs: Math.round(Number(process.hrtime.bigint() - record.startedAt) / 1000),
    target: record.policyWouldDeny ? sortedJson({ policyWouldDeny: true }) : null,
  };
}

export function adminEventFields(event: AdminEvent, now: number): AuditEventFields {
  const target = event.target ?? {};
  const str = (v: string | number | boolean | undefined) => (v === undefined ? null : String(v));
  return {
    time: now,
    kind: 'admin',
    actorKind: event.actor.kind,
    actorId: event.actor.id,
    actorName: event.actor.name,
    action: event.action,
    // Admin API routes name keys `:id` under /keys and keystores `:name` under /keystores.
    keystore: str(target.keystore ?? (/\/keystores(\/|$)/.test(event.action) ? target.name : undefined)),
    keyId: str(target.key ?? target.keyId ?? (/\/keys(\/|$)/.test(event.action) ? target.id : undefined)),
    keyVersion: typeof target.version === 'number' ? target.version : null,
    kmsOperation: null,
    kmsRequestId: null,
    principalArn: null,
    sourceVpc: null,
    sourceVpce: null,
    kmsViaService: null,
    outcome: event.outcome,
    status: orNull(event.status),
    errorName: null,
    detail: orNull(event.detail),
    policyRuleId: null,
    latencyUs: event.latencyMs === undefined ? null : Math.round(event.latencyMs * 1000),
    target: Object.keys(target).length === 0 ? null : sortedJson(target),
  };
}

/**
 * The data plane's recorder: resolves when the event is durable (per the audit mode). Each event
 * lands in the chain of the node that served it (chain id = node id).
 *
 *= docs/requirements.md#authorization-logging-operations
 *# 98. [MAY] The log says which key manager of the cluster served each request.
 */
export function auditXksRecorder(log: Pick<AuditLog, 'append'>, clock: Clock): XksRecorder {
  return { record: (record) => log.append(xksEventFields(record, clock.now())) };
}

/** The management side's sink (admin API requests, approval steps, the node's own scheduled work). */
export function auditAdminSink(log: Pick<AuditLog, 'append'>, clock: Clock): AdminEventSink {
  return { record: (event) => log.append(adminEventFields(event, clock.now())) };
}
