/**
 * Mixed versions during a rolling upgrade (docs/fleet.md#upgrades): a node refuses, in one line, to start on
 * a database a newer Keyhold has migrated past what it knows, and leaves it untouched; and every write to
 * a tracked table lands in the change sequence (migration 0008), whichever code made it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createChangeStore } from '../../src/fleet/sql-change-store.js';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import type { DatabaseConnection } from '../../src/storage/connection.js';
import { LATEST_MIGRATION, SchemaTooNewError } from '../../src/storage/migrations/index.js';
import { dialectTargets } from '../helpers/dialects.js';
import { newGroup } from '../helpers/records.js';

interface MigrationTables {
  kysely_migration: { name: string; timestamp: string };
}

for (const target of dialectTargets()) {
  describe(`schema versions on ${target.name}`, () => {
    let database: DatabaseConnection | undefined;
    const db = () => database ?? assert.fail('not open');

    before(async () => {
      await target.setUp();
      database = await target.connect();
    });
    after(async () => {
      await database?.close();
      await target.tearDown();
    });

    it('a write made through any store is in the change sequence, in order', async () => {
      const changes = createChangeStore(db());
      const before = await changes.latestId();
      const group = newGroup();
      await createKeystoreStore(db()).createGroup(group);
      const recorded = await changes.changesAfter(before, 10);
      assert.deepEqual(
        recorded.map((c) => [c.kind, c.entityId]),
        [['group', group.id]],
      );
      assert.ok(recorded[0] && recorded[0].id > before);
    });

    it('a database migrated by a newer Keyhold: this one refuses to start, naming the migration, and changes nothing', async () => {
      const migrations = db().tables<MigrationTables>();
      await migrations
        .insertInto('kysely_migration')
        .values({ name: '0099_from_the_future', timestamp: new Date().toISOString() })
        .execute();
      const names = async () =>
        (await migrations.selectFrom('kysely_migration').select('name').orderBy('name').execute()).map((r) => r.name);
      const known = await names();
      try {
        await assert.rejects(target.connect(), (error: unknown) => {
          assert.ok(error instanceof SchemaTooNewError);
          assert.equal(
            error.message,
            `the database schema is newer than this Keyhold knows: migration 0099_from_the_future was applied by a newer version (this one knows up to ${LATEST_MIGRATION}); upgrade this node to the fleet's version`,
          );
          return true;
        });
        assert.deepEqual(await names(), known);
      } finally {
        await sql`delete from kysely_migration where name = '0099_from_the_future'`.execute(migrations);
      }
      const reopened = await target.connect();
      await reopened.close();
    });
  });
}
