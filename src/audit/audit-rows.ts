/**
 * The audit tables (migration 0003_audit) as Kysely sees them, and where their rows become audit
 * records and back. Timestamps are epoch milliseconds.
 */
import type { AuditChain, Checkpoint } from './audit-store.js';
import type { ChainedAuditEvent } from './event.js';

export interface AuditEventRow {
  chain_id: string;
  seq: number;
  time: number;
  /** Only the two kinds the writer stores. */
  kind: ChainedAuditEvent['kind'];
  actor_kind: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  keystore: string | null;
  key_id: string | null;
  key_version: number | null;
  kms_operation: string | null;
  kms_request_id: string | null;
  principal_arn: string | null;
  source_vpc: string | null;
  source_vpce: string | null;
  kms_via_service: string | null;
  outcome: string;
  status: number | null;
  error_name: string | null;
  detail: string | null;
  policy_rule_id: string | null;
  latency_us: number | null;
  target: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointRow {
  chain_id: string;
  seq: number;
  hash: string;
  time: number;
  signature: string;
}

export interface AuditChainRow {
  chain_id: string;
  public_key: string;
  sealed_private_key: Buffer;
  anchor_seq: number;
  anchor_hash: string;
  forwarded_seq: number;
  created_at: number;
}

export interface AuditTables {
  audit_events: AuditEventRow;
  audit_checkpoints: AuditCheckpointRow;
  audit_chains: AuditChainRow;
}

export function eventRow(e: ChainedAuditEvent): AuditEventRow {
  return {
    chain_id: e.chain,
    seq: e.seq,
    time: e.time,
    kind: e.kind,
    actor_kind: e.actorKind,
    actor_id: e.actorId,
    actor_name: e.actorName,
    action: e.action,
    keystore: e.keystore,
    key_id: e.keyId,
    key_version: e.keyVersion,
    kms_operation: e.kmsOperation,
    kms_request_id: e.kmsRequestId,
    principal_arn: e.principalArn,
    source_vpc: e.sourceVpc,
    source_vpce: e.sourceVpce,
    kms_via_service: e.kmsViaService,
    outcome: e.outcome,
    status: e.status,
    error_name: e.errorName,
    detail: e.detail,
    policy_rule_id: e.policyRuleId,
    latency_us: e.latencyUs,
    target: e.target,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

const num = (v: number | null): number | null => (v === null ? null : Number(v));

export function toEvent(r: AuditEventRow): ChainedAuditEvent {
  return {
    chain: r.chain_id,
    seq: Number(r.seq),
    time: Number(r.time),
    kind: r.kind,
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    actorName: r.actor_name,
    action: r.action,
    keystore: r.keystore,
    keyId: r.key_id,
    keyVersion: num(r.key_version),
    kmsOperation: r.kms_operation,
    kmsRequestId: r.kms_request_id,
    principalArn: r.principal_arn,
    sourceVpc: r.source_vpc,
    sourceVpce: r.source_vpce,
    kmsViaService: r.kms_via_service,
    outcome: r.outcome,
    status: num(r.status),
    errorName: r.error_name,
    detail: r.detail,
    policyRuleId: r.policy_rule_id,
    latencyUs: num(r.latency_us),
    target: r.target,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export const checkpointRow = (c: Checkpoint): AuditCheckpointRow => ({
  chain_id: c.chain,
  seq: c.seq,
  hash: c.hash,
  time: c.time,
  signature: c.signature,
});

export const toCheckpoint = (r: AuditCheckpointRow): Checkpoint => ({
  chain: r.chain_id,
  seq: Number(r.seq),
  hash: r.hash,
  time: Number(r.time),
  signature: r.signature,
});

export const chainRow = (c: AuditChain): AuditChainRow => ({
  chain_id: c.chain,
  public_key: c.publicKey,
  sealed_private_key: c.sealedPrivateKey,
  anchor_seq: c.anchorSeq,
  anchor_hash: c.anchorHash,
  forwarded_seq: c.forwardedSeq,
  created_at: c.createdAt,
});

export const toChain = (r: AuditChainRow): AuditChain => ({
  chain: r.chain_id,
  publicKey: r.public_key,
  sealedPrivateKey: r.sealed_private_key,
  anchorSeq: Number(r.anchor_seq),
  anchorHash: r.anchor_hash,
  forwardedSeq: Number(r.forwarded_seq),
  createdAt: Number(r.created_at),
});
