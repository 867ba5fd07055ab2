/**
 * Approvers' comments on their votes (migration 0009), through the admin API of a real node on SQLite and
 * PostgreSQL: stored with the vote, shown in the approval view (show and list), optional, validated
 * (at most 1,000 characters of text) with a one-line 400 that records no vote.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApprovalView } from '../../src/approvals/gate.js';
import { errorOf, pendingApproval } from '../helpers/admin-json.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';
import { createUsers, requireTwoApprovers, type ActAs } from '../helpers/users.js';
import { admin } from '../helpers/xks-client.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`approval votes with comments on ${dialect}`, () => {
    let node: TestNode;
    let as: ActAs;
    let database: ScratchDatabase | undefined;
    before(async () => {
      database = dialect === 'postgres' ? await createScratchDatabase() : undefined;
      node = await startTestNode({ databaseUrl: database?.url });
      as = await createUsers(node, [
        ['olivia', ['key-officer']],
        ['ann', ['approver']],
        ['ben', ['approver']],
        ['cara', ['approver']],
        ['root', ['administrator']],
      ]);
      await requireTwoApprovers(as, 'root', ['key.disable', 'key.block']);
    });
    after(async () => {
      await node.close();
      await database?.drop();
    });

    it('approve with a comment, approve without one: each vote shows what its approver said', async () => {
      const { id } = pendingApproval(await as('olivia', 'POST', `/keys/${node.keyId}/disable`));
      const first = await as<ApprovalView>('ann', 'POST', `/approvals/${id}/approve`, { comment: 'Checked ticket CHG-1042.\nGo ahead.' });
      assert.equal(first.status, 200, first.text);
      assert.deepEqual(
        first.json.approvals.map((v) => [v.user, v.comment]),
        [['ann', 'Checked ticket CHG-1042.\nGo ahead.']],
      );
      const done = await as<ApprovalView>('ben', 'POST', `/approvals/${id}/approve`);
      assert.equal(done.json.status, 'done', done.text);
      assert.deepEqual(
        done.json.approvals.map((v) => ({ user: v.user, comment: v.comment, hasTime: typeof v.at === 'string' })),
        [
          { user: 'ann', comment: 'Checked ticket CHG-1042.\nGo ahead.', hasTime: true },
          { user: 'ben', comment: undefined, hasTime: true },
        ],
      );
      assert.ok(!('comment' in (done.json.approvals[1] ?? {})), 'no comment, no field');
      const shown = await as<ApprovalView>('cara', 'GET', `/approvals/${id}`);
      assert.deepEqual(shown.json.approvals, done.json.approvals);
      const listed = await as<ApprovalView[]>('cara', 'GET', '/approvals?status=done');
      assert.deepEqual(listed.json.find((a) => a.id === id)?.approvals, done.json.approvals);
      assert.equal((await admin(node, 'POST', `/keys/${node.keyId}/enable`)).status, 200);
    });

    it('deny with a comment: the denial carries it', async () => {
      const { id } = pendingApproval(await as('olivia', 'POST', `/keys/${node.keyId}/block`, { reason: 'test' }));
      const denied = await as<ApprovalView>('cara', 'POST', `/approvals/${id}/deny`, { comment: '  not during the freeze  ' });
      assert.equal(denied.json.status, 'denied', denied.text);
      assert.deepEqual(
        denied.json.denials.map((v) => [v.user, v.comment]),
        [['cara', 'not during the freeze']],
      );
    });

    it('a comment of exactly 1,000 characters (emoji count as one) is kept; a blank one is none', async () => {
      const { id } = pendingApproval(await as('olivia', 'POST', `/keys/${node.keyId}/block`, { reason: 'test' }));
      const longest = `${'🔑'.repeat(10)}${'x'.repeat(990)}`;
      const kept = await as<ApprovalView>('ann', 'POST', `/approvals/${id}/approve`, { comment: longest });
      assert.equal(kept.status, 200, kept.text);
      assert.equal(kept.json.approvals[0]?.comment, longest);
      const blank = await as<ApprovalView>('ben', 'POST', `/approvals/${id}/deny`, { comment: '   ' });
      assert.equal(blank.status, 200, blank.text);
      assert.deepEqual(blank.json.denials, [{ user: 'ben', at: blank.json.denials[0]?.at }]);
    });

    it('bad comments: one-line 400, no vote recorded, the approver may still vote', async () => {
      const { id } = pendingApproval(await as('olivia', 'POST', `/keys/${node.keyId}/block`, { reason: 'test' }));
      const refused: [unknown, RegExp][] = [
        [{ comment: 'x'.repeat(1001) }, /comment/],
        [{ comment: 'bell\u0007' }, /comment must be at most 1000 characters of text/],
        [{ comment: 'escape \u001b[31m' }, /comment must be at most 1000 characters of text/],
        [{ comment: 'ok', extra: true }, /extra|additional/i],
      ];
      for (const [body, message] of refused) {
        const response = await as('ann', 'POST', `/approvals/${id}/approve`, body);
        assert.equal(response.status, 400, `${JSON.stringify(body)}: ${response.text}`);
        assert.match(errorOf(response), message);
      }
      const unchanged = await as<ApprovalView>('ann', 'GET', `/approvals/${id}`);
      assert.deepEqual([unchanged.json.status, unchanged.json.approvals, unchanged.json.denials], ['pending', [], []]);
      const voted = await as<ApprovalView>('ann', 'POST', `/approvals/${id}/approve`, { comment: 'fine' });
      assert.equal(voted.status, 200, voted.text);
      assert.equal(voted.json.approvals[0]?.comment, 'fine');
    });
  });
}
