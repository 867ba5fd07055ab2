import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from '../connection.js';

const binary = (dialect: SqlDialect) => (dialect === 'postgres' ? 'bytea' : 'blob');

/**
 * Key lifecycle (docs/rotation.md): key states with block reason, deletion date, description, tags and
 * rotation policy; version states; a keystore block reason; node-wide settings (the kill switch); and
 * the RSA wrapping keys of bring-your-own-key imports (private key sealed under the root of trust).
 * SQLite adds one column per ALTER TABLE, so each column is its own statement.
 */
export function keyLifecycleMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      const keyColumns: [string, string, boolean, unknown][] = [
        ['block_reason', 'text', false, undefined],
        ['deletion_date', 'bigint', false, undefined],
        ['description', 'text', true, ''],
        ['tags', 'text', true, '{}'],
        ['rotation_period_days', 'integer', false, undefined],
        ['next_rotation_at', 'bigint', false, undefined],
        ['min_decrypt_version', 'integer', true, 1],
      ];
      for (const [name, type, required, fallback] of keyColumns) {
        await db.schema
          .alterTable('keys')
          .addColumn(name, sql.raw(type), (c) => (required ? c.notNull().defaultTo(fallback) : c))
          .execute();
      }
      await db.schema.createIndex('keys_next_rotation_idx').on('keys').column('next_rotation_at').execute();
      await db.schema.createIndex('keys_deletion_date_idx').on('keys').column('deletion_date').execute();

      await db.schema
        .alterTable('key_versions')
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('ENABLED'))
        .execute();
      await db.schema
        .alterTable('key_versions')
        .addColumn('origin', 'text', (c) => c.notNull().defaultTo('GENERATED'))
        .execute();
      await db.schema.alterTable('key_versions').addColumn('revoked_at', 'bigint').execute();
      await db.schema.alterTable('key_versions').addColumn('destroyed_at', 'bigint').execute();

      await db.schema.alterTable('keystores').addColumn('block_reason', 'text').execute();

      await db.schema
        .createTable('settings')
        .addColumn('name', 'text', (c) => c.primaryKey().notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('import_wrapping_keys')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('public_key_pem', 'text', (c) => c.notNull())
        .addColumn('sealed_private_key', binary(dialect), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
    },

    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('import_wrapping_keys').execute();
      await db.schema.dropTable('settings').execute();
      await db.schema.dropIndex('keys_deletion_date_idx').execute();
      await db.schema.dropIndex('keys_next_rotation_idx').execute();
      await db.schema.alterTable('keystores').dropColumn('block_reason').execute();
      for (const column of ['destroyed_at', 'revoked_at', 'origin', 'state']) {
        await db.schema.alterTable('key_versions').dropColumn(column).execute();
      }
      for (const column of [
        'min_decrypt_version',
        'next_rotation_at',
        'rotation_period_days',
        'tags',
        'description',
        'deletion_date',
        'block_reason',
      ]) {
        await db.schema.alterTable('keys').dropColumn(column).execute();
      }
    },
  };
}
