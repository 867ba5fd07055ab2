import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from '../connection.js';

/**
 * Secondary authorization (src/policies): policies with their rules as a JSON document, and each
 * group's default effect. Attachments are by internal id (group, keystore or key); rules are stored
 * as JSON text so both dialects read them the same way.
 */
export function policiesMigration(_dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('policies')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('enforce', 'audit-only')`))
        .addColumn('attach_kind', 'text', (c) => c.check(sql`attach_kind in ('group', 'keystore', 'key')`))
        .addColumn('attach_id', 'text')
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('policies_name_unique', ['name'])
        .addCheckConstraint('policies_attach_both_or_neither', sql`(attach_kind is null) = (attach_id is null)`)
        .execute();

      await db.schema
        .createTable('policy_group_defaults')
        .addColumn('group_id', 'text', (c) => c.primaryKey().notNull().references('groups.id'))
        .addColumn('effect', 'text', (c) => c.notNull().check(sql`effect in ('allow', 'deny')`))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },

    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('policy_group_defaults').execute();
      await db.schema.dropTable('policies').execute();
    },
  };
}
