/**
 * GET /api/v1/audit/export on a real node: every event the search filters match, oldest first, one JSON
 * object a line — the same events as paging through GET /audit/events — behind audit:read; bad filters
 * are a one-line 400.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bodyOf, errorOf, type CreatedToken } from '../helpers/admin-json.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, adminAs, encryptBody, xks } from '../helpers/xks-client.js';

interface Page {
  events: { seq: number; chain: string; outcome: string; keyId?: string }[];
  nextCursor: string | null;
}

describe('GET /api/v1/audit/export', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
    for (let i = 0; i < 5; i++) assert.equal((await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(16)) })).status, 200);
    assert.equal((await xks(node, { operation: 'encrypt', keyId: 'no-such-key', body: encryptBody(randomBytes(16)) })).status, 404);
  });
  after(() => node.close());

  /** Every event of a search, through the paged API (2 a page). */
  async function paged(filters: string): Promise<unknown[]> {
    const events: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = bodyOf<Page>(await admin(node, 'GET', `/audit/events?limit=2${filters}${cursor ? `&cursor=${cursor}` : ''}`));
      events.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return events;
  }

  it('JSON lines of exactly the events the search pages hold, with and without filters', async () => {
    for (const filters of ['', `&keyId=${node.keyId}`, '&outcome=error']) {
      const response = await admin(node, 'GET', `/audit/export?${filters.slice(1)}`);
      assert.equal(response.status, 200, response.text);
      assert.match(String(response.headers['content-type']), /^application\/x-ndjson/);
      assert.match(String(response.headers['content-disposition']), /attachment; filename="keyhold-audit\.jsonl"/);
      assert.ok(response.text.endsWith('\n'));
      const lines = response.text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown);
      assert.deepEqual(lines, await paged(filters), filters);
    }
    const errors = (await admin(node, 'GET', '/audit/export?outcome=error')).text.trimEnd().split('\n');
    assert.equal(errors.length, 1, 'the one KeyNotFound');
    const mine = (await admin(node, 'GET', `/audit/export?keyId=${node.keyId}&action=Encrypt`)).text.trimEnd().split('\n');
    assert.ok(mine.length >= 5);
  });

  it('audit:read only; bad filters → one-line 400', async () => {
    const officer = bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: 'o', role: 'key-officer' }), 201).token;
    assert.equal((await adminAs(node, officer, 'GET', '/audit/export')).status, 403);
    const auditor = bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: 'a', role: 'auditor' }), 201).token;
    assert.equal((await adminAs(node, auditor, 'GET', '/audit/export')).status, 200);
    for (const query of ['from=yesterday', 'from=2026-02-01&to=2026-01-01', 'outcome=maybe', 'limit=5']) {
      const response = await admin(node, 'GET', `/audit/export?${query}`);
      assert.equal(response.status, 400, `${query}: ${response.text}`);
      assert.ok(!errorOf(response).includes('\n'));
    }
  });
});
