/**
 * GET /api/v1/keys?search=&status=&keystore=&limit=&cursor= on a real node, over SQLite and PostgreSQL:
 * the page shape, the filters, following nextCursor, `total` on the first page, and one-line 400s for bad
 * input that change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KeyPage } from '../../src/keys/service.js';
import { bodyOf, errorOf } from '../helpers/admin-json.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';
import { admin } from '../helpers/xks-client.js';

const page = async (node: TestNode, query: string) => bodyOf<KeyPage>(await admin(node, 'GET', `/keys${query}`));

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`GET /api/v1/keys on ${dialect}`, () => {
    let node: TestNode;
    let database: ScratchDatabase | undefined;
    before(async () => {
      database = dialect === 'postgres' ? await createScratchDatabase() : undefined;
      node = await startTestNode({ databaseUrl: database?.url });
      // A second keystore with its own group, and keys in both.
      const other = await admin(node, 'POST', '/keystores', { name: 'other', prefix: '/other' });
      assert.equal(other.status, 201, other.text);
      for (let i = 0; i < 12; i++) {
        const created = await admin(node, 'POST', '/keys', {
          id: `app-${String(i).padStart(2, '0')}`,
          keystore: i % 2 === 0 ? 'demo' : 'other',
          description: i === 7 ? 'Payroll exports' : `application key ${i}`,
          tags: i === 3 ? { owner: 'Team Kassel' } : {},
        });
        assert.equal(created.status, 201, created.text);
      }
      assert.equal((await admin(node, 'POST', '/keys/app-04/disable')).status, 200);
      assert.equal((await admin(node, 'POST', '/keys/app-05/block', { reason: 'incident 12' })).status, 200);
    });
    after(async () => {
      await node.close();
      await database?.drop();
    });

    it('without a query: the first 50 keys, nextCursor null when they are all, and the total', async () => {
      const first = await page(node, '');
      assert.equal(first.total, 13, 'the demo key and twelve more');
      assert.equal(first.keys.length, 13);
      assert.equal(first.nextCursor, null);
      const shown = bodyOf<Record<string, unknown>>(await admin(node, 'GET', '/keys/app-03'));
      assert.deepEqual(
        first.keys.find((k) => k.id === 'app-03'),
        shown,
        'each key as GET /keys/:id shows it',
      );
    });

    it('pages with limit and the opaque cursor: every key once, total on the first page only', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const current: KeyPage = await page(node, `?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(current.total, pages === 0 ? 13 : undefined);
        assert.ok(current.keys.length <= 5);
        seen.push(...current.keys.map((k) => k.id));
        cursor = current.nextCursor;
        pages++;
      } while (cursor !== null);
      assert.equal(pages, 3);
      assert.equal(new Set(seen).size, 13);
      assert.deepEqual(seen.slice().sort(), [...seen].sort());
    });

    it('filters: search (id, description, tag value; any case), status, keystore, and all together', async () => {
      const ids = async (query: string) => (await page(node, query)).keys.map((k) => k.id);
      assert.deepEqual(await ids('?search=PAYROLL'), ['app-07']);
      assert.deepEqual(await ids('?search=kassel'), ['app-03']);
      assert.deepEqual((await ids('?search=app-1')).sort(), ['app-10', 'app-11']);
      assert.deepEqual(await ids('?status=DISABLED'), ['app-04']);
      assert.deepEqual(await ids('?status=BLOCKED'), ['app-05']);
      assert.deepEqual((await ids('?keystore=other')).sort(), ['app-01', 'app-03', 'app-05', 'app-07', 'app-09', 'app-11']);
      assert.deepEqual(await ids('?keystore=other&status=ENABLED&search=key%209'), ['app-09']);
      const counted = await page(node, '?keystore=demo&search=application&limit=2');
      assert.equal(counted.total, 6, 'app-00, 02, 04, 06, 08 and 10');
      assert.equal(counted.keys.length, 2);
      assert.notEqual(counted.nextCursor, null);
      const none = await page(node, '?search=nothing-like-this');
      assert.deepEqual(none, { keys: [], nextCursor: null, total: 0 });
      assert.equal((await page(node, '?search=%20%20')).total, 13, 'a blank search filters nothing');
    });

    it('bad input: one line, 400 (404 for an unknown keystore), never a 500', async () => {
      const refused: [string, number, RegExp][] = [
        ['?limit=0', 400, /limit/],
        ['?limit=501', 400, /limit/],
        ['?limit=ten', 400, /limit/],
        ['?status=ACTIVE', 400, /status/],
        ['?cursor=not-a-cursor', 400, /cursor is not one this API returned/],
        [`?cursor=${Buffer.from('[1,2]').toString('base64url')}`, 400, /cursor/],
        [`?search=${'x'.repeat(257)}`, 400, /search/],
        ['?search=a%00b', 400, /search must be at most 256 printable characters/],
        ['?keystore=missing', 404, /no keystore named "missing"/],
        ['?unknown=1', 400, /unknown|additional/i],
      ];
      for (const [query, status, message] of refused) {
        const response = await admin(node, 'GET', `/keys${query}`);
        assert.equal(response.status, status, `${query}: ${response.text}`);
        assert.match(errorOf(response), message, query);
        assert.ok(!errorOf(response).includes('\n'));
      }
    });
  });
}
