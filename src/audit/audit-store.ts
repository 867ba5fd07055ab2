import type { Kysely, Selectable } from 'kysely';
import type { Store } from '../storage/store.js';
import type { ChainedAuditEvent } from './event.js';

/** The audit tables (migration 0003_audit). */
export type AuditEventRow = {
  chain_id: string;
  seq: number;
  time: number;
  kind: string;
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
};

export type AuditCheckpointRow = {
  chain_id: string;
  seq: number;
  hash: string;
  time: number;
  signature: string;
};

export type AuditChainRow = {
  chain_id: string;
  public_key: string;
  sealed_private_key: Buffer;
  anchor_seq: number;
  anchor_hash: string;
  forwarded_seq: number;
  created_at: number;
};

export type AuditTables = {
  audit_events: AuditEventRow;
  audit_checkpoints: AuditCheckpointRow;
  audit_chains: AuditChainRow;
};

/** A signed checkpoint: Ed25519 over checkpointMessage(chain, seq, hash, time). */
export interface Checkpoint {
  chain: string;
  seq: number;
  hash: string;
  time: number;
  /** base64 Ed25519 signature. */
  signature: string;
}

export interface AuditQuery {
  chain?: string;
  keyId?: string;
  keystore?: string;
  kmsRequestId?: string;
  principal?: string;
  outcome?: string;
  action?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  /** Resume after this (time, chain, seq). */
  after?: { time: number; chain: string; seq: number };
  limit: number;
}

export function toRow(e: ChainedAuditEvent): AuditEventRow {
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

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function fromRow(r: Selectable<AuditEventRow>): ChainedAuditEvent {
  return {
    chain: r.chain_id,
    seq: Number(r.seq),
    time: Number(r.time),
    kind: r.kind as ChainedAuditEvent['kind'],
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

const toCheckpoint = (r: Selectable<AuditCheckpointRow>): Checkpoint => ({
  chain: r.chain_id,
  seq: Number(r.seq),
  hash: r.hash,
  time: Number(r.time),
  signature: r.signature,
});

export type AuditStore = ReturnType<typeof createAuditStore>;

/** The audit log's data access: its own tables through the shared query builder. */
export function createAuditStore(store: Pick<Store, 'db'>) {
  const db = store.db.withTables<AuditTables>() as unknown as Kysely<AuditTables>;

  async function insertEvents(trx: Kysely<AuditTables>, events: readonly ChainedAuditEvent[]): Promise<void> {
    // Large batches are split so a statement stays under SQLite's and PostgreSQL's parameter limits.
    for (let i = 0; i < events.length; i += 200) {
      await trx
        .insertInto('audit_events')
        .values(events.slice(i, i + 200).map(toRow))
        // A replayed spool may hold events whose commit succeeded but was not confirmed.
        .onConflict((oc) => oc.columns(['chain_id', 'seq']).doNothing())
        .execute();
    }
  }

  return {
    db,

    /** Commits a batch (and optionally a checkpoint) in one transaction. */
    async appendBatch(events: readonly ChainedAuditEvent[]): Promise<void> {
      if (events.length === 0) return;
      await db.transaction().execute((trx) => insertEvents(trx, events));
    },

    async addCheckpoint(checkpoint: Checkpoint): Promise<void> {
      await db
        .insertInto('audit_checkpoints')
        .values({
          chain_id: checkpoint.chain,
          seq: checkpoint.seq,
          hash: checkpoint.hash,
          time: checkpoint.time,
          signature: checkpoint.signature,
        })
        .onConflict((oc) => oc.columns(['chain_id', 'seq']).doNothing())
        .execute();
    },

    async head(chain: string): Promise<{ seq: number; hash: string } | undefined> {
      const row = await db
        .selectFrom('audit_events')
        .select(['seq', 'hash'])
        .where('chain_id', '=', chain)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && { seq: Number(row.seq), hash: row.hash };
    },

    async getChain(chain: string): Promise<AuditChainRow | undefined> {
      const row = await db.selectFrom('audit_chains').selectAll().where('chain_id', '=', chain).executeTakeFirst();
      return (
        row && { ...row, anchor_seq: Number(row.anchor_seq), forwarded_seq: Number(row.forwarded_seq), created_at: Number(row.created_at) }
      );
    },

    async listChains(): Promise<AuditChainRow[]> {
      const rows = await db.selectFrom('audit_chains').selectAll().orderBy('chain_id').execute();
      return rows.map((row) => ({
        ...row,
        anchor_seq: Number(row.anchor_seq),
        forwarded_seq: Number(row.forwarded_seq),
        created_at: Number(row.created_at),
      }));
    },

    async createChain(row: AuditChainRow): Promise<void> {
      await db
        .insertInto('audit_chains')
        .values(row)
        .onConflict((oc) => oc.column('chain_id').doNothing())
        .execute();
    },

    async setForwarded(chain: string, seq: number): Promise<void> {
      await db.updateTable('audit_chains').set({ forwarded_seq: seq }).where('chain_id', '=', chain).execute();
    },

    /** Events of one chain in sequence order, after `afterSeq`. */
    async chainEvents(chain: string, afterSeq: number, limit: number): Promise<ChainedAuditEvent[]> {
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('chain_id', '=', chain)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    async checkpoints(chain: string): Promise<Checkpoint[]> {
      const rows = await db.selectFrom('audit_checkpoints').selectAll().where('chain_id', '=', chain).orderBy('seq').execute();
      return rows.map(toCheckpoint);
    },

    async latestCheckpoint(chain: string): Promise<Checkpoint | undefined> {
      const row = await db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('chain_id', '=', chain)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toCheckpoint(row);
    },

    /** Search across chains, ordered by (time, chain, seq), keyset-paginated. */
    async search(query: AuditQuery): Promise<ChainedAuditEvent[]> {
      let q = db.selectFrom('audit_events').selectAll();
      if (query.chain !== undefined) q = q.where('chain_id', '=', query.chain);
      if (query.keyId !== undefined) q = q.where('key_id', '=', query.keyId);
      if (query.keystore !== undefined) q = q.where('keystore', '=', query.keystore);
      if (query.kmsRequestId !== undefined) q = q.where('kms_request_id', '=', query.kmsRequestId);
      if (query.principal !== undefined) q = q.where('principal_arn', '=', query.principal);
      if (query.outcome !== undefined) q = q.where('outcome', '=', query.outcome);
      if (query.action !== undefined) q = q.where('action', '=', query.action);
      if (query.from !== undefined) q = q.where('time', '>=', query.from);
      if (query.to !== undefined) q = q.where('time', '<', query.to);
      const after = query.after;
      if (after) {
        q = q.where((eb) =>
          eb.or([
            eb('time', '>', after.time),
            eb.and([eb('time', '=', after.time), eb('chain_id', '>', after.chain)]),
            eb.and([eb('time', '=', after.time), eb('chain_id', '=', after.chain), eb('seq', '>', after.seq)]),
          ]),
        );
      }
      const rows = await q.orderBy('time').orderBy('chain_id').orderBy('seq').limit(query.limit).execute();
      return rows.map(fromRow);
    },

    /**
     * Retention: deletes a chain's events up to the checkpoint, which becomes the chain's anchor, and
     * the checkpoints before it, in one transaction.
     */
    async truncateTo(checkpoint: Checkpoint): Promise<number> {
      return db.transaction().execute(async (trx) => {
        const deleted = await trx
          .deleteFrom('audit_events')
          .where('chain_id', '=', checkpoint.chain)
          .where('seq', '<=', checkpoint.seq)
          .executeTakeFirst();
        await trx.deleteFrom('audit_checkpoints').where('chain_id', '=', checkpoint.chain).where('seq', '<', checkpoint.seq).execute();
        await trx
          .updateTable('audit_chains')
          .set({ anchor_seq: checkpoint.seq, anchor_hash: checkpoint.hash })
          .where('chain_id', '=', checkpoint.chain)
          .execute();
        return Number(deleted.numDeletedRows);
      });
    },

    /** The latest checkpoint at or before the last event older than `before` (retention's cut). */
    async retentionCut(chain: string, before: number, notBeyond = Number.MAX_SAFE_INTEGER): Promise<Checkpoint | undefined> {
      const last = await db
        .selectFrom('audit_events')
        .select('seq')
        .where('chain_id', '=', chain)
        .where('time', '<', before)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!last) return undefined;
      const row = await db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('chain_id', '=', chain)
        .where('seq', '<=', Math.min(Number(last.seq), notBeyond))
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toCheckpoint(row);
    },
  };
}
