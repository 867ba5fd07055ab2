import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import { toKey, type KeyRow, type KeyTables } from './key-rows.js';
import type { KeySearch, KeyStore } from './key-store.js';

/** `text` as a LIKE pattern matching it anywhere, its own `%`, `_` and `\` taken literally. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * KeyStore.searchKeys on an open database (both dialects): the filters of GET /api/v1/keys, one page in
 * (group_id, external_id) order. Without a status filter the page walks the unique (group_id, external_id)
 * index; with one, the (status, group_id, external_id) index of migration 0008. The search is a substring
 * of the lower-cased search_text column, matched row by row (a LIKE '%…%' can use no B-tree index).
 */
export function createKeySearch(db: Kysely<KeyTables>): Pick<KeyStore, 'searchKeys'> {
  const filtered = <O>(query: SelectQueryBuilder<KeyTables, 'keys', O>, search: KeySearch) => {
    let q = query.where('internal', '=', 0);
    if (search.groupId !== undefined) q = q.where('group_id', '=', search.groupId);
    if (search.status !== undefined) q = q.where('status', '=', search.status);
    if (search.text !== undefined && search.text !== '') q = q.where(sql<boolean>`search_text like ${containing(search.text)} escape '\\'`);
    return q;
  };

  return {
    async searchKeys(search) {
      let page = filtered(db.selectFrom('keys').selectAll(), search);
      const { after } = search;
      if (after) {
        page = page.where((eb) =>
          eb.or([
            eb('group_id', '>', after.groupId),
            eb.and([eb('group_id', '=', after.groupId), eb('external_id', '>', after.externalId)]),
          ]),
        );
      }
      // One more than the page, to tell whether another follows.
      const rows: KeyRow[] = await page
        .orderBy('group_id')
        .orderBy('external_id')
        .limit(search.limit + 1)
        .execute();
      const more = rows.length > search.limit;
      const keys = rows.slice(0, search.limit).map(toKey);
      if (!search.count) return { keys, more };
      const counted = await filtered(
        db.selectFrom('keys').select((eb) => eb.fn.countAll<number | string>().as('n')),
        search,
      ).executeTakeFirst();
      return { keys, more, total: Number(counted?.n ?? 0) };
    },
  };
}
