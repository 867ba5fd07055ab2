import type { Kysely, Migration } from 'kysely';

/**
 * An index on keys (updated_at, id), so a node picks up the keys other nodes of its fleet changed by reading
 * only those rows instead of every key each scheduler pass. Since migration 0008 (the change sequence) the
 * key sync reads the sequence instead (src/keys/live-sync.ts); the index stays for ordering by change time.
 */
export function keysUpdatedAtIndexMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('keys_updated_at_idx').on('keys').columns(['updated_at', 'id']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('keys_updated_at_idx').execute();
    },
  };
}
