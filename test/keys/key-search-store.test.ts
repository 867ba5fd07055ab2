/**
 * KeyStore.searchKeys (src/keys/sql-key-search.ts) and the search_text the store keeps, on SQLite and a
 * real PostgreSQL; and migration 0008 filling search_text for keys that existed before it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Kysely, Migrator, SqliteDialect, type Migration } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import type { Group, KeyRecord, KeyStatus } from '../../src/domain/types.js';
import type { KeySearch, KeyStore } from '../../src/keys/key-store.js';
import { createKeyStore } from '../../src/keys/sql-key-store.js';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import { initialMigration } from '../../src/storage/migrations/0001_initial.js';
import { keyLifecycleMigration } from '../../src/storage/migrations/0002_key_lifecycle.js';
import { openDatabase } from '../../src/storage/open-database.js';
import { dialectTargets, suiteDatabase } from '../helpers/dialects.js';

const T0 = 1_700_000_000_000;
const unique = () => randomBytes(5).toString('hex');

const newKey = (groupId: string, externalId: string, extra: Partial<KeyRecord> = {}): KeyRecord => ({
  id: `k-${unique()}`,
  groupId,
  externalId,
  usage: ['ENCRYPT', 'DECRYPT'],
  status: 'ENABLED',
  internal: false,
  currentVersion: 1,
  description: '',
  tags: {},
  minDecryptVersion: 1,
  createdAt: T0,
  updatedAt: T0,
  ...extra,
});

/** Every page of a search, following `after` from the last key of each page. */
async function allPages(store: KeyStore, search: Omit<KeySearch, 'after'>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let after: KeySearch['after'];
  for (;;) {
    const page = await store.searchKeys({ ...search, after });
    pages++;
    ids.push(...page.keys.map((k) => k.externalId));
    const last = page.keys[page.keys.length - 1];
    if (!page.more || !last) return { ids, pages };
    after = { groupId: last.groupId, externalId: last.externalId };
  }
}

for (const target of dialectTargets()) {
  describe(`KeyStore.searchKeys on ${target.name}`, () => {
    let keyStore: KeyStore | undefined;
    const store = suiteDatabase(target, (opened) => {
      keyStore = createKeyStore(opened);
    });
    const keys = () => keyStore ?? assert.fail('the key store is not open');

    /**
     * Two groups (a < b by id) with keys of several statuses, descriptions and tags, and an internal key.
     * Every key carries the tag `seed`, a value no other seed has, so a search for it finds this seed only.
     */
    async function seed(): Promise<{ a: Group; b: Group; tag: string }> {
      const tag = unique();
      const a: Group = { id: `ga-${tag}`, name: `a-${tag}`, createdAt: T0 };
      const b: Group = { id: `gb-${tag}`, name: `b-${tag}`, createdAt: T0 };
      for (const group of [a, b]) await createKeystoreStore(store()).createGroup(group);
      const seedTag = { seed: `seed-${tag}` };
      const records = [
        newKey(a.id, 'payments-eu', { description: 'Card Payments in the EU', tags: { team: 'Zahlungsverkehr', ...seedTag } }),
        newKey(a.id, 'payments-us', { status: 'DISABLED', description: 'card payments, US', tags: seedTag }),
        newKey(a.id, 'ledger', { status: 'BLOCKED', blockReason: 'incident', tags: { owner: 'ÄRGER-Team', cost: '100%_off', ...seedTag } }),
        newKey(a.id, 'canary', { internal: true, description: 'payments canary', tags: seedTag }),
        newKey(b.id, 'payments-apac', { status: 'PENDING_DELETION', deletionDate: T0 + 1, tags: seedTag }),
        newKey(b.id, 'reports', { tags: seedTag }),
        newKey(b.id, 'z_under', { description: 'percent 100% here', tags: seedTag }),
      ];
      for (const key of records) {
        await keys().createKey(key, {
          keyId: key.id,
          version: 1,
          sealedMaterial: randomBytes(60),
          state: 'ENABLED',
          origin: 'GENERATED',
          createdAt: T0,
        });
      }
      return { a, b, tag: `seed-${tag}` };
    }

    /** The seed's keys a search finds, group a's then group b's. */
    const inSeed = async ({ a, b }: { a: Group; b: Group }, text: string, status?: KeyStatus) => [
      ...(await allPages(keys(), { groupId: a.id, text, status, limit: 50 })).ids,
      ...(await allPages(keys(), { groupId: b.id, text, status, limit: 50 })).ids,
    ];

    it('pages every customer key of a group in key id order; internal keys never appear; total counts the filters', async () => {
      const { a } = await seed();
      const first = await keys().searchKeys({ groupId: a.id, limit: 2, count: true });
      assert.deepEqual(
        first.keys.map((k) => k.externalId),
        ['ledger', 'payments-eu'],
      );
      assert.equal(first.more, true);
      assert.equal(first.total, 3);
      assert.equal(first.keys[1]?.tags.team, 'Zahlungsverkehr', 'whole records, as getKey reads them');
      const second = await keys().searchKeys({ groupId: a.id, limit: 2, after: { groupId: a.id, externalId: 'payments-eu' } });
      assert.deepEqual(
        second.keys.map((k) => k.externalId),
        ['payments-us'],
      );
      assert.equal(second.more, false);
      assert.equal(second.total, undefined, 'counted only when asked');
    });

    it('crosses from one group to the next with the keyset cursor, each key exactly once, whatever the page size', async () => {
      const { tag } = await seed();
      const expected = ['ledger', 'payments-eu', 'payments-us', 'payments-apac', 'reports', 'z_under'];
      for (const limit of [1, 2, 3, 5, 6, 100]) {
        const all = await allPages(keys(), { text: tag, limit });
        assert.deepEqual(all.ids, expected, `limit ${limit}`);
        assert.equal(all.pages, Math.ceil(expected.length / limit), 'the last page says no more follow, even when it is full');
      }
      assert.equal((await keys().searchKeys({ text: tag, limit: 1, count: true })).total, 6);
    });

    it('searches id, description and tag values case-insensitively (Unicode too), never tag names', async () => {
      const seeded = await seed();
      assert.deepEqual(await inSeed(seeded, 'card payments'), ['payments-eu', 'payments-us']);
      assert.deepEqual(await inSeed(seeded, 'zahlungs'), ['payments-eu'], 'a tag value, any case');
      assert.deepEqual(await inSeed(seeded, 'ärger'), ['ledger'], 'Unicode lower case');
      assert.deepEqual(await inSeed(seeded, 'team'), ['ledger'], 'the tag name "team" is not searched; "ÄRGER-Team" is a value');
      assert.deepEqual(await inSeed(seeded, 'owner'), [], 'tag names are not searched');
      assert.deepEqual(await inSeed(seeded, 'apac'), ['payments-apac']);
      assert.deepEqual(await inSeed(seeded, 'canary'), [], 'internal keys are never found');
      assert.deepEqual(await inSeed(seeded, 'eu\nreports'), [], 'no match spans two keys or fields');
    });

    it('takes %, _ and \\ in a search literally', async () => {
      const seeded = await seed();
      assert.deepEqual(await inSeed(seeded, '100%'), ['ledger', 'z_under']);
      assert.deepEqual(await inSeed(seeded, '%_'), ['ledger']);
      assert.deepEqual(await inSeed(seeded, 'z_u'), ['z_under']);
      assert.deepEqual(await inSeed(seeded, 'z%u'), []);
      assert.deepEqual(await inSeed(seeded, 'a_b'), [], '_ is not a wildcard');
      assert.deepEqual(await inSeed(seeded, '\\'), []);
    });

    it('filters by status (with the group and the search)', async () => {
      const { a, b } = await seed();
      const page = async (groupId: string, status: KeyStatus, text?: string) =>
        (await keys().searchKeys({ groupId, status, text, limit: 10, count: true })).keys.map((k) => k.externalId);
      assert.deepEqual(await page(a.id, 'ENABLED'), ['payments-eu']);
      assert.deepEqual(await page(a.id, 'BLOCKED'), ['ledger']);
      assert.deepEqual(await page(b.id, 'PENDING_DELETION', 'PAY'.toLowerCase()), ['payments-apac']);
      assert.deepEqual(await page(b.id, 'DESTROYED'), []);
      const counted = await keys().searchKeys({ groupId: a.id, status: 'DISABLED', limit: 1, count: true });
      assert.deepEqual([counted.total, counted.more], [1, false]);
    });

    it('keeps search_text with the description and tags as they change', async () => {
      const { a } = await seed();
      const key = await keys().getKey(a.id, 'payments-us');
      assert.ok(key);
      const find = async (text: string) => (await keys().searchKeys({ groupId: a.id, text, limit: 10 })).keys.map((k) => k.externalId);
      assert.ok(await keys().updateKey(key.id, { description: 'Settlement batch' }, T0 + 5));
      assert.deepEqual(await find('settlement'), ['payments-us']);
      assert.deepEqual(await find('card payments'), ['payments-eu'], 'the old description no longer matches');
      assert.ok(await keys().updateKey(key.id, { tags: { region: 'Oregon' } }, T0 + 6));
      assert.deepEqual(await find('oregon'), ['payments-us']);
      assert.deepEqual(await find('settlement'), ['payments-us'], 'a tag change keeps the description searchable');
      assert.ok(await keys().updateKey(key.id, { status: 'ENABLED' }, T0 + 7));
      assert.deepEqual(await find('oregon'), ['payments-us'], 'other changes leave it alone');
    });
  });
}

describe('migration 0008 fills search_text for keys created before it (SQLite)', () => {
  it('an upgraded key is found by its id, description and tag values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-0008-'));
    const path = join(dir, 'keyhold.db');
    try {
      const db = new Kysely<Record<string, Record<string, unknown>>>({
        dialect: new SqliteDialect({ database: new SqliteDatabase(path) }),
      });
      const earlier: Record<string, Migration> = {
        '0001_initial': initialMigration('sqlite'),
        '0002_key_lifecycle': keyLifecycleMigration('sqlite'),
      };
      assert.equal(
        (await new Migrator({ db, provider: { getMigrations: () => Promise.resolve(earlier) } }).migrateToLatest()).error,
        undefined,
      );
      await db.insertInto('groups').values({ id: 'g1', name: 'demo', created_at: T0 }).execute();
      await db
        .insertInto('keys')
        .values({
          id: 'k1',
          group_id: 'g1',
          external_id: 'Old-Key',
          usage: 'ENCRYPT,DECRYPT',
          status: 'ENABLED',
          internal: 0,
          current_version: 1,
          created_at: T0,
          updated_at: T0,
          description: 'Legacy Archive',
          tags: JSON.stringify({ owner: 'Finance' }),
        })
        .execute();
      await db.destroy();

      const connection = await openDatabase({ sqlitePath: path });
      try {
        const store = createKeyStore(connection);
        for (const text of ['old-key', 'legacy', 'finance']) {
          assert.deepEqual(
            (await store.searchKeys({ text, limit: 5 })).keys.map((k) => k.id),
            ['k1'],
            text,
          );
        }
        assert.deepEqual((await store.searchKeys({ text: 'owner', limit: 5 })).keys, []);
      } finally {
        await connection.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
