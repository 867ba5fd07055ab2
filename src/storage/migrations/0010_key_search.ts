import type { Kysely, Migration } from 'kysely';

type KeySearchTables = {
  keys: { id: string; external_id: string; description: string; tags: string; search_text: string };
};

/** Rows read and rewritten per statement while filling search_text for the keys that exist. */
const BACKFILL_PAGE = 1000;

/**
 * Server-side key search for the web console (GET /api/v1/keys?search=&status=&keystore=&limit=&cursor=):
 * - `keys.search_text`: the external id, description and tag values, lower-cased, line-feed separated,
 *   kept by the key store (src/keys/key-rows.ts searchText) and filled here for the keys that exist. The
 *   function is repeated below on purpose: a released migration never changes, whatever the store does later.
 * - indexes on (status, group_id, external_id, internal) and (group_id, external_id, internal): a page,
 *   with or without a status or keystore (group) filter, is read in the listing's order from an index
 *   (a rare status among 100,000 keys is found without a scan), and counting the matching keys (`total`)
 *   reads the index alone, `internal` included (the canary key is never listed).
 * A substring search (`LIKE '%…%'`) can use no B-tree index on either dialect; it reads search_text row
 * by row (docs/access.md#keys-search has the figures at 100,000 keys).
 */
export function keySearchMigration(): Migration {
  return {
    async up(untyped: Kysely<unknown>) {
      await untyped.schema
        .alterTable('keys')
        .addColumn('search_text', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      const db = untyped.withTables<KeySearchTables>();
      let after = '';
      for (;;) {
        const rows = await db
          .selectFrom('keys')
          .select(['id', 'external_id', 'description', 'tags'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(BACKFILL_PAGE)
          .execute();
        for (const row of rows) {
          const tags: unknown = JSON.parse(row.tags);
          const values = typeof tags === 'object' && tags !== null ? Object.values(tags).map(String) : [];
          const text = [row.external_id, row.description, ...values].join('\n').toLowerCase();
          await db.updateTable('keys').set({ search_text: text }).where('id', '=', row.id).execute();
        }
        const last = rows[rows.length - 1];
        if (!last || rows.length < BACKFILL_PAGE) break;
        after = last.id;
      }
      await untyped.schema
        .createIndex('keys_status_order_idx')
        .on('keys')
        .columns(['status', 'group_id', 'external_id', 'internal'])
        .execute();
      await untyped.schema.createIndex('keys_group_order_idx').on('keys').columns(['group_id', 'external_id', 'internal']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('keys_group_order_idx').execute();
      await db.schema.dropIndex('keys_status_order_idx').execute();
      await db.schema.alterTable('keys').dropColumn('search_text').execute();
    },
  };
}
