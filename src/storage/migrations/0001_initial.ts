import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from '../connection.js';

/** Binary columns are `blob` on SQLite and `bytea` on PostgreSQL; both drivers hand back a Buffer. */
const binary = (dialect: SqlDialect) => (dialect === 'postgres' ? 'bytea' : 'blob');

// Primary keys also say NOT NULL: SQLite (for legacy reasons) otherwise accepts NULL in a TEXT primary key.
// Migrations take Kysely<unknown>: they must not depend on the current schema types, which change later.
export function initialMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('groups')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('groups_name_unique', ['name'])
        .execute();

      await db.schema
        .createTable('keystores')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('keystores_name_unique', ['name'])
        .addUniqueConstraint('keystores_prefix_unique', ['prefix'])
        .execute();

      await db.schema
        .createTable('credentials')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('keystore_id', 'text', (c) => c.notNull().references('keystores.id'))
        .addColumn('sealed_secret', binary(dialect), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('credentials_keystore_idx').on('credentials').column('keystore_id').execute();

      await db.schema
        .createTable('keys')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id'))
        .addColumn('external_id', 'text', (c) => c.notNull())
        .addColumn('usage', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        // A boolean stored as 0/1 on both dialects (SQLite has no boolean type).
        .addColumn('internal', 'integer', (c) =>
          c
            .notNull()
            .defaultTo(0)
            .check(sql`internal in (0, 1)`),
        )
        .addColumn('current_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('keys_group_external_id_unique', ['group_id', 'external_id'])
        .execute();

      await db.schema
        .createTable('key_versions')
        .addColumn('key_id', 'text', (c) => c.notNull().references('keys.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('sealed_material', binary(dialect), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('key_versions_pk', ['key_id', 'version'])
        .execute();

      await db.schema
        .createTable('admin_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', binary(dialect), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        // Tokens are looked up by hash, so a hash must identify exactly one token.
        .addUniqueConstraint('admin_tokens_token_hash_unique', ['token_hash'])
        .execute();

      await db.schema
        .createTable('nodes')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('hostname', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('nodes_last_seen_idx').on('nodes').column('last_seen_at').execute();
    },

    async down(db: Kysely<unknown>) {
      for (const table of ['nodes', 'admin_tokens', 'key_versions', 'keys', 'credentials', 'keystores', 'groups']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
