import { hash } from 'node:crypto';

/**
 * One audit event as stored and exported (docs/audit.md). Absent fields are null, so the canonical
 * form has no optional parts. Never plaintext, AAD, key material, secrets, tokens or request bodies.
 */
export interface AuditEventFields {
  /** Epoch milliseconds. */
  time: number;
  /** `xks` (data plane) or `admin` (management, including the node's own scheduled work). */
  kind: 'xks' | 'admin';
  actorKind: string;
  /** XKS: the SigV4 access key id; admin: the user's or token's id. */
  actorId: string | null;
  /** XKS: the keystore; admin: the user or token name. */
  actorName: string | null;
  /** XKS operation (`Encrypt`…) or admin action (`POST /api/v1/keys/:id/rotate`, `key.rotate`…). */
  action: string;
  keystore: string | null;
  keyId: string | null;
  keyVersion: number | null;
  kmsOperation: string | null;
  kmsRequestId: string | null;
  principalArn: string | null;
  sourceVpc: string | null;
  sourceVpce: string | null;
  kmsViaService: string | null;
  /** `success`, `error` (XKS), `failure`, `denied`, `pending` (admin). */
  outcome: string;
  status: number | null;
  errorName: string | null;
  /** One-line reason (authentication failure reason, error detail); never a secret. */
  detail: string | null;
  policyRuleId: string | null;
  /** Request latency in whole microseconds. */
  latencyUs: number | null;
  /** Admin target/params as canonical JSON (sorted keys), e.g. `{"id":"demo-key"}`. */
  target: string | null;
}

export interface ChainedAuditEvent extends AuditEventFields {
  /** The node whose chain holds the event (chain id = node id). */
  chain: string;
  seq: number;
  prevHash: string;
  hash: string;
}

/** prev_hash of a chain's first event: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** The canonical field order; changing it (or the tag) breaks every existing chain. */
const FIELD_ORDER: readonly (keyof AuditEventFields)[] = [
  'time',
  'kind',
  'actorKind',
  'actorId',
  'actorName',
  'action',
  'keystore',
  'keyId',
  'keyVersion',
  'kmsOperation',
  'kmsRequestId',
  'principalArn',
  'sourceVpc',
  'sourceVpce',
  'kmsViaService',
  'outcome',
  'status',
  'errorName',
  'detail',
  'policyRuleId',
  'latencyUs',
  'target',
];

/*= docs/requirements.md#authorization-logging-operations
 *# 97. [MUST NOT] Sensitive plaintext is logged; the integrity of the logs is protected.
 * Integrity: every event is hashed over this form and chained to the one before; checkpoints are signed. */

/**
 * Canonical serialization: the UTF-8 bytes of JSON.stringify of the array
 * ["keyhold-audit-v1", chain, seq, prevHash, ...fields in FIELD_ORDER], with null for absent values,
 * integers for numbers and strings as JSON.stringify writes them (ECMAScript's deterministic escaping).
 */
export function canonicalEvent(event: Omit<ChainedAuditEvent, 'hash'>): string {
  return JSON.stringify(['keyhold-audit-v1', event.chain, event.seq, event.prevHash, ...FIELD_ORDER.map((field) => event[field] ?? null)]);
}

/** hash = lowercase hex SHA-256 of the canonical serialization (which includes prevHash). */
export function eventHash(event: Omit<ChainedAuditEvent, 'hash'>): string {
  return sha256Hex(canonicalEvent(event));
}

// One-shot: no Hash object (and its weak handle, which every scavenge visits) per event.
const sha256Hex = (canonical: string) => hash('sha256', canonical, 'hex');

/** Links `fields` after (prevSeq, prevHash) on `chain`. */
export function chainEvent(fields: AuditEventFields, chain: string, seq: number, prevHash: string): ChainedAuditEvent {
  return chainEventWithForm(fields, chain, seq, prevHash).event;
}

/**
 * chainEvent, also returning the canonical form the event was hashed over: it holds every column, so the
 * SQLite writer thread gets a batch as one string built from these (sqlite-appender.ts) rather than
 * cloned objects. (It was remembered in a WeakMap keyed by the event once: a WeakMap of short-lived keys
 * made every young-generation collection walk its ephemeron table, about ten times the scavenge time in
 * a micro-benchmark, and the node's scavenges took 6–7 ms each.)
 */
export function chainEventWithForm(
  fields: AuditEventFields,
  chain: string,
  seq: number,
  prevHash: string,
): { event: ChainedAuditEvent; canonical: string } {
  // The same array as canonicalEvent, written out: this runs once per request on the event loop.
  const f = fields;
  const canonical = JSON.stringify([
    'keyhold-audit-v1',
    chain,
    seq,
    prevHash,
    f.time,
    f.kind,
    f.actorKind,
    f.actorId ?? null,
    f.actorName ?? null,
    f.action,
    f.keystore ?? null,
    f.keyId ?? null,
    f.keyVersion ?? null,
    f.kmsOperation ?? null,
    f.kmsRequestId ?? null,
    f.principalArn ?? null,
    f.sourceVpc ?? null,
    f.sourceVpce ?? null,
    f.kmsViaService ?? null,
    f.outcome,
    f.status ?? null,
    f.errorName ?? null,
    f.detail ?? null,
    f.policyRuleId ?? null,
    f.latencyUs ?? null,
    f.target ?? null,
  ]);
  // Written out rather than `{ ...fields, chain, seq, prevHash, hash }`: V8 builds that spread of 26
  // properties as a dictionary-mode object, ~3.9 KB against ~0.3 KB for this literal (measured), and the
  // event lives until its batch commits, so every young-generation collection copied it.
  const event: ChainedAuditEvent = {
    time: f.time,
    kind: f.kind,
    actorKind: f.actorKind,
    actorId: f.actorId,
    actorName: f.actorName,
    action: f.action,
    keystore: f.keystore,
    keyId: f.keyId,
    keyVersion: f.keyVersion,
    kmsOperation: f.kmsOperation,
    kmsRequestId: f.kmsRequestId,
    principalArn: f.principalArn,
    sourceVpc: f.sourceVpc,
    sourceVpce: f.sourceVpce,
    kmsViaService: f.kmsViaService,
    outcome: f.outcome,
    status: f.status,
    errorName: f.errorName,
    detail: f.detail,
    policyRuleId: f.policyRuleId,
    latencyUs: f.latencyUs,
    target: f.target,
    chain,
    seq,
    prevHash,
    hash: sha256Hex(canonical),
  };
  return { event, canonical };
}

/** JSON with object keys sorted, for `target`. */
export function sortedJson(value: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) if (value[key] !== undefined) sorted[key] = value[key];
  return JSON.stringify(sorted);
}
