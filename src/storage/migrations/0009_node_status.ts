import type { Kysely, Migration } from 'kysely';

/**
 * What each node reports about itself at every heartbeat, for the fleet view (`GET /api/v1/fleet`,
 * `keyhold fleet status`) and the other nodes' GetHealthStatus: the address it serves on, its version,
 * and a JSON status (sealed, root of trust, EKM health, audit queue and spool, propagation, requests/s).
 */
export function nodeStatusMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('nodes').addColumn('address', 'text').execute();
      await db.schema.alterTable('nodes').addColumn('version', 'text').execute();
      await db.schema.alterTable('nodes').addColumn('status', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      for (const column of ['status', 'version', 'address']) await db.schema.alterTable('nodes').dropColumn(column).execute();
    },
  };
}
