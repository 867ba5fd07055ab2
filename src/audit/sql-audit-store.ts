import type { Kysely } from 'kysely';
import type { DatabaseConnection } from '../storage/connection.js';
import { chainRow, checkpointRow, eventRow, toChain, toCheckpoint, toEvent, type AuditTables } from './audit-rows.js';
import type { AuditStore } from './audit-store.js';
import type { ChainedAuditEvent } from './event.js';

/** Rows per insert statement: keeps a statement under SQLite's and PostgreSQL's parameter limits. */
const INSERT_CHUNK = 200;

/** The audit store on an open database (SQLite or PostgreSQL). */
export function createAuditStore(connection: DatabaseConnection): AuditStore {
  const db = connection.tables<AuditTables>();

  async function insertEvents(trx: Kysely<AuditTables>, events: readonly ChainedAuditEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += INSERT_CHUNK) {
      await trx
        .insertInto('audit_events')
        .values(events.slice(i, i + INSERT_CHUNK).map(eventRow))
        // A replayed spool may hold events whose commit succeeded but was not confirmed.
        .onConflict((oc) => oc.columns(['chain_id', 'seq']).doNothing())
        .execute();
    }
  }

  return {
    async appendBatch(events) {
      if (events.length === 0) return;
      await db.transaction().execute((trx) => insertEvents(trx, events));
    },

    async addCheckpoint(checkpoint) {
      await db
        .insertInto('audit_checkpoints')
        .values(checkpointRow(checkpoint))
        .onConflict((oc) => oc.columns(['chain_id', 'seq']).doNothing())
        .execute();
    },

    async head(chain) {
      const row = await db
        .selectFrom('audit_events')
        .select(['seq', 'hash'])
        .where('chain_id', '=', chain)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && { seq: Number(row.seq), hash: row.hash };
    },

    async getChain(chain) {
      const row = await db.selectFrom('audit_chains').selectAll().where('chain_id', '=', chain).executeTakeFirst();
      return row && toChain(row);
    },

    async listChains() {
      const rows = await db.selectFrom('audit_chains').selectAll().orderBy('chain_id').execute();
      return rows.map(toChain);
    },

    async chainsWithEvents() {
      const rows = await db.selectFrom('audit_events').select('chain_id').distinct().orderBy('chain_id').execute();
      return rows.map((row) => row.chain_id);
    },

    async createChain(chain) {
      await db
        .insertInto('audit_chains')
        .values(chainRow(chain))
        .onConflict((oc) => oc.column('chain_id').doNothing())
        .execute();
    },

    async setForwarded(chain, seq) {
      await db.updateTable('audit_chains').set({ forwarded_seq: seq }).where('chain_id', '=', chain).execute();
    },

    async chainEvents(chain, afterSeq, limit) {
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('chain_id', '=', chain)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },

    async seqOfHash(chain, hash) {
      const row = await db
        .selectFrom('audit_events')
        .select('seq')
        .where('chain_id', '=', chain)
        .where('hash', '=', hash)
        .executeTakeFirst();
      return row && Number(row.seq);
    },

    async checkpoints(chain) {
      const rows = await db.selectFrom('audit_checkpoints').selectAll().where('chain_id', '=', chain).orderBy('seq').execute();
      return rows.map(toCheckpoint);
    },

    async latestCheckpoint(chain) {
      const row = await db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('chain_id', '=', chain)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toCheckpoint(row);
    },

    async search(query) {
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
      return rows.map(toEvent);
    },

    async truncateTo(checkpoint) {
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

    async retentionCut(chain, before, notBeyond = Number.MAX_SAFE_INTEGER) {
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
