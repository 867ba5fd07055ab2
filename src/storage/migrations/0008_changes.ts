import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from '../connection.js';

/**
 * The fleet's change sequence (docs/fleet.md#propagation): every write to a table the live state or the
 * management side of another node depends on appends one row to `changes` (a monotonically increasing id,
 * the kind of entity and its id) in the same transaction, by a trigger on the table. Triggers are the one
 * place every store's writes pass through, so no store method can forget to record its change.
 *
 * On PostgreSQL the trigger also sends `NOTIFY keyhold_changes, '<id>'` (delivered at commit, to every node
 * that LISTENs), and takes a transaction-level advisory lock before it draws the id, so ids are handed out
 * in commit order: a node that has read up to id N has seen every change numbered N or lower, and catching
 * up from the sequence after a lost notification cannot skip a change that committed late.
 */

/** Table → [kind recorded, column naming the entity, columns whose update counts (all when absent)]. */
export const TRACKED_TABLES: ReadonlyArray<readonly [table: string, kind: string, idColumn: string, updateOf?: readonly string[]]> = [
  ['groups', 'group', 'id'],
  ['keystores', 'keystore', 'id'],
  ['credentials', 'keystore', 'keystore_id'],
  ['keys', 'key', 'id'],
  ['key_versions', 'key', 'key_id'],
  ['settings', 'setting', 'name'],
  ['policies', 'policy', 'id'],
  ['policy_group_defaults', 'policy', 'group_id'],
  ['users', 'user', 'id'],
  // A token's last use is written while it authenticates; that is not a change other nodes need.
  ['api_tokens', 'token', 'id', ['name', 'token_hash', 'user_id', 'role', 'expires_at', 'revoked_at']],
  ['admin_tokens', 'token', 'id'],
  ['approval_policies', 'approval', 'group_id'],
  ['approval_requests', 'approval', 'id'],
  ['approval_votes', 'approval', 'request_id'],
];

/** The advisory lock key that serializes the drawing of change ids (an arbitrary constant, "KHCH"). */
const CHANGE_LOCK = 0x4b484348;

export function changesMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect === 'postgres') {
        await sql`CREATE TABLE changes (id bigserial PRIMARY KEY, kind text NOT NULL, entity_id text NOT NULL, at bigint NOT NULL)`.execute(
          db,
        );
        await sql
          .raw(
            `CREATE FUNCTION keyhold_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rec jsonb;
  change_id bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN rec := to_jsonb(OLD); ELSE rec := to_jsonb(NEW); END IF;
  PERFORM pg_advisory_xact_lock(${CHANGE_LOCK});
  INSERT INTO changes (kind, entity_id, at)
    VALUES (TG_ARGV[0], coalesce(rec ->> TG_ARGV[1], ''), (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
    RETURNING id INTO change_id;
  PERFORM pg_notify('keyhold_changes', change_id::text);
  RETURN NULL;
END
$$`,
          )
          .execute(db);
        for (const [table, kind, idColumn, updateOf] of TRACKED_TABLES) {
          const update = updateOf ? `UPDATE OF ${updateOf.join(', ')}` : 'UPDATE';
          await sql
            .raw(
              `CREATE TRIGGER ${table}_changes AFTER INSERT OR ${update} OR DELETE ON ${table}
               FOR EACH ROW EXECUTE FUNCTION keyhold_record_change('${kind}', '${idColumn}')`,
            )
            .execute(db);
        }
        return;
      }
      await sql`CREATE TABLE changes (id integer PRIMARY KEY AUTOINCREMENT, kind text NOT NULL, entity_id text NOT NULL, at bigint NOT NULL)`.execute(
        db,
      );
      const now = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;
      for (const [table, kind, idColumn, updateOf] of TRACKED_TABLES) {
        for (const [event, row] of [
          ['INSERT', 'NEW'],
          [updateOf ? `UPDATE OF ${updateOf.join(', ')}` : 'UPDATE', 'NEW'],
          ['DELETE', 'OLD'],
        ] as const) {
          const name = `${table}_changes_${event.split(' ')[0]?.toLowerCase() ?? ''}`;
          await sql
            .raw(
              `CREATE TRIGGER ${name} AFTER ${event} ON ${table} BEGIN
                 INSERT INTO changes (kind, entity_id, at) VALUES ('${kind}', coalesce(${row}.${idColumn}, ''), ${now});
               END`,
            )
            .execute(db);
        }
      }
    },
    async down(db: Kysely<unknown>) {
      for (const [table] of TRACKED_TABLES) {
        if (dialect === 'postgres') await sql.raw(`DROP TRIGGER IF EXISTS ${table}_changes ON ${table}`).execute(db);
        else
          for (const event of ['insert', 'update', 'delete']) await sql.raw(`DROP TRIGGER IF EXISTS ${table}_changes_${event}`).execute(db);
      }
      if (dialect === 'postgres') await sql`DROP FUNCTION IF EXISTS keyhold_record_change()`.execute(db);
      await sql`DROP TABLE changes`.execute(db);
    },
  };
}
