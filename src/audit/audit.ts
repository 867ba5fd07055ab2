import type { XksRecorder } from '../xks/pipeline-ports.js';
import type { AdminEventSink } from './admin-events.js';
import type { AuditLog, AuditStatus } from './audit-log.js';
import type { AuditQuery, AuditStore, Checkpoint } from './audit-store.js';
import type { ChainedAuditEvent } from './event.js';
import type { SyslogForwarder, SyslogForwarderStatus } from './syslog-forwarder.js';
import type { VerifyOptions, VerifyReport } from './verify.js';

/** The audit status the admin API and `keyhold audit status` show. */
export interface AuditStatusView extends AuditStatus {
  /** The chain's checkpoint verification key (PEM). */
  publicKey: string;
  retentionDays?: number;
  syslog?: SyslogForwarderStatus;
}

/**
 * The audit log of one node (startAudit in audit-service.ts starts it): its chain writer, the recorders
 * both planes write through, syslog forwarding, retention, search and verification.
 */
export interface Audit {
  /** This node's chain id (the node id). */
  readonly chain: string;
  /** The chain writer. */
  readonly log: AuditLog;
  /** The audit tables, for reads across every chain. */
  readonly store: AuditStore;
  /** Given to the XKS handler: one event per answered request, durable per the audit mode. */
  readonly recorder: XksRecorder;
  /** Where management actions are recorded (admin API requests, approvals, scheduled key work). */
  readonly adminEvents: AdminEventSink;
  /** Set when events are forwarded to syslog. */
  readonly forwarder: SyslogForwarder | undefined;
  /** Deletes events past the retention period, up to a signed checkpoint (also hourly by itself). */
  runRetention(): Promise<{ deleted: number; anchorSeq?: number }>;
  status(): AuditStatusView;
  /** Events of every chain matching the query, oldest first. */
  search(query: AuditQuery): Promise<ChainedAuditEvent[]>;
  latestCheckpoint(): Promise<Checkpoint | undefined>;
  /** Walks every chain and reports the first break of each. */
  verify(options?: VerifyOptions): Promise<VerifyReport>;
  /** Stops retention and forwarding, flushes and closes the chain writer. */
  close(): Promise<void>;
}
