import { type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from '../connection.js';

const binary = (dialect: SqlDialect) => (dialect === 'postgres' ? 'bytea' : 'blob');

/**
 * The tamper-evident audit log (docs/audit.md): one hash chain per node (chain id = node id),
 * signed checkpoints, each chain's signing key (private half sealed under the root of trust),
 * and per-chain state (retention anchor, syslog forwarding cursor).
 */
export function auditMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_events')
        .addColumn('chain_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('actor_kind', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('actor_name', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('keystore', 'text')
        .addColumn('key_id', 'text')
        .addColumn('key_version', 'integer')
        .addColumn('kms_operation', 'text')
        .addColumn('kms_request_id', 'text')
        .addColumn('principal_arn', 'text')
        .addColumn('source_vpc', 'text')
        .addColumn('source_vpce', 'text')
        .addColumn('kms_via_service', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('error_name', 'text')
        .addColumn('detail', 'text')
        .addColumn('policy_rule_id', 'text')
        .addColumn('latency_us', 'bigint')
        .addColumn('target', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_events_pk', ['chain_id', 'seq'])
        .execute();
      await db.schema.createIndex('audit_events_time_idx').on('audit_events').columns(['time', 'chain_id', 'seq']).execute();
      await db.schema.createIndex('audit_events_key_idx').on('audit_events').columns(['key_id', 'time']).execute();
      await db.schema.createIndex('audit_events_request_idx').on('audit_events').column('kms_request_id').execute();

      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('chain_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_checkpoints_pk', ['chain_id', 'seq'])
        .execute();

      await db.schema
        .createTable('audit_chains')
        .addColumn('chain_id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('sealed_private_key', binary(dialect), (c) => c.notNull())
        // Retention anchor: events up to anchor_seq were deleted; anchor_hash is the signed checkpoint's hash.
        .addColumn('anchor_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('anchor_hash', 'text', (c) => c.notNull())
        .addColumn('forwarded_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['audit_chains', 'audit_checkpoints', 'audit_events']) await db.schema.dropTable(table).execute();
    },
  };
}
