/**
 * The backup's table list comes from the live schema (issue 13): on both dialects every table is either
 * carried or deliberately excluded with a reason, node-local heartbeats are excluded, and the order lets a
 * restore insert parents before the rows that reference them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { backupTables, EXCLUDED_TABLES } from '../../src/backup/tables.js';
import { dialectTargets, suiteDatabase } from '../helpers/dialects.js';

for (const target of dialectTargets()) {
  describe(`backup tables on ${target.name}`, () => {
    const database = suiteDatabase(target);

    it('every table of the schema is carried or excluded with a reason; nodes is excluded', async () => {
      const db = database().tables<unknown>();
      const all =
        target.name === 'sqlite'
          ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)).rows
          : (
              await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(
                db,
              )
            ).rows;
      const carried = (await backupTables(database())).map((t) => t.name);
      const excluded = all.map((t) => t.name).filter((name) => !carried.includes(name));
      assert.deepEqual(
        excluded.sort(),
        Object.keys(EXCLUDED_TABLES)
          .filter((name) => all.some((t) => t.name === name))
          .sort(),
      );
      assert.ok(excluded.includes('nodes'));
      for (const name of [
        'keys',
        'key_versions',
        'keystores',
        'credentials',
        'groups',
        'users',
        'api_tokens',
        'audit_chains',
        'settings',
      ]) {
        assert.ok(carried.includes(name), `${name} is carried`);
      }
    });

    it('parents come before the tables that reference them', async () => {
      const order = (await backupTables(database())).map((t) => t.name);
      const before = (parent: string, child: string) =>
        assert.ok(order.indexOf(parent) < order.indexOf(child), `${parent} before ${child}: ${order.join(', ')}`);
      before('groups', 'keystores');
      before('keystores', 'credentials');
      before('groups', 'keys');
      before('keys', 'key_versions');
      before('users', 'api_tokens');
      before('approval_requests', 'approval_votes');
      before('groups', 'policy_group_defaults');
    });
  });
}
