import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UserView } from '../../src/access/service.js';
import type { ApprovalView } from '../../src/approvals/gate.js';
import { bodyOf, errorOf, pendingApproval, type CreatedToken } from '../helpers/admin-json.js';
import type { TestNode } from '../helpers/node-harness.js';
import { admin } from '../helpers/xks-client.js';
import { startNodeWithApprovers, type ActAs } from '../helpers/users.js';

/** The key as GET /keys/:id shows it (the fields these tests read). */
type KeyStatus = { status: string };

describe('approvals through the admin API', () => {
  let node: TestNode;
  let as: ActAs;
  const keyStatus = async () => bodyOf<KeyStatus>(await admin(node, 'GET', `/keys/${node.keyId}`)).status;

  before(async () => {
    ({ node, as } = await startNodeWithApprovers(
      [
        ['olivia', ['key-officer']],
        ['ann', ['approver']],
        ['ben', ['approver']],
        ['root', ['administrator']],
        ['root2', ['administrator']],
      ],
      ['key.disable', 'keystore.disable', 'credential.add', 'credential.reveal', 'approval-policy.change'],
      4,
    ));
  });
  after(() => node.close());

  it('key disable waits (202) for two approvers, then the key is disabled', async () => {
    const { id, status, required, summary } = pendingApproval(await as('olivia', 'POST', `/keys/${node.keyId}/disable`));
    assert.deepEqual({ status, required }, { status: 'pending', required: 2 });
    assert.match(summary, new RegExp(`disable key ${node.keyId} in group demo`));
    assert.equal(await keyStatus(), 'ENABLED');
    // A key officer may not decide; an approver may.
    assert.equal((await as('olivia', 'POST', `/approvals/${id}/approve`)).status, 403);
    assert.equal((await as<ApprovalView>('ann', 'POST', `/approvals/${id}/approve`)).json.status, 'pending');
    const done = await as<ApprovalView & { result: KeyStatus }>('ben', 'POST', `/approvals/${id}/approve`);
    assert.equal(done.json.status, 'done', done.text);
    assert.equal(done.json.result.status, 'DISABLED');
    assert.equal(await keyStatus(), 'DISABLED');
    const listed = await as<ApprovalView[]>('ann', 'GET', '/approvals?status=done');
    assert.deepEqual(
      listed.json.map((a) => a.id),
      [id],
    );
    assert.equal((await admin(node, 'POST', `/keys/${node.keyId}/enable`)).status, 200);
  });

  it('credential reveal (kms-json): approved, then claimed once by the requester with X-Keyhold-Approval', async () => {
    const { id, mode } = pendingApproval(await as('root', 'GET', '/keystores/demo/kms-json'));
    assert.equal(mode, 'claim');
    await as('ann', 'POST', `/approvals/${id}/approve`);
    const approved = await as<ApprovalView>('ben', 'POST', `/approvals/${id}/approve`);
    assert.equal(approved.json.status, 'approved');
    assert.ok(!approved.text.includes(node.credential.secret));
    assert.equal((await as('root2', 'GET', '/keystores/demo/kms-json', undefined, { 'x-keyhold-approval': id })).status, 400);
    const claimed = await as<{ XksProxyAuthenticationCredential: { RawSecretAccessKey: string } }>(
      'root',
      'GET',
      '/keystores/demo/kms-json',
      undefined,
      { 'x-keyhold-approval': id },
    );
    assert.equal(claimed.status, 200, claimed.text);
    assert.equal(claimed.json.XksProxyAuthenticationCredential.RawSecretAccessKey, node.credential.secret);
    const again = await as('root', 'GET', '/keystores/demo/kms-json', undefined, { 'x-keyhold-approval': id });
    assert.equal(again.status, 409);
    assert.ok(!(await as('ann', 'GET', `/approvals/${id}`)).text.includes(node.credential.secret));
  });

  it('role changes go through the node-wide (*) policy; the requester cannot approve', async () => {
    assert.equal(
      (
        await as('root', 'PUT', '/groups/*/approval-policy', {
          operations: ['role.change'],
          approvers: { users: ['root', 'root2'] },
          required: 1,
          expiresAfterHours: 1,
        })
      ).status,
      200,
    );
    const { id } = pendingApproval(await as('root', 'PUT', '/users/olivia/roles', { roles: ['administrator'] }));
    const self = await as('root', 'POST', `/approvals/${id}/approve`);
    assert.equal(self.status, 400);
    assert.match(errorOf(self), /your own request/);
    const roles = async () => bodyOf<UserView>(await admin(node, 'GET', '/users/olivia')).roles;
    assert.deepEqual(await roles(), ['key-officer']);
    const denied = await as<ApprovalView>('root2', 'POST', `/approvals/${id}/deny`);
    assert.equal(denied.json.status, 'denied');
    assert.deepEqual(await roles(), ['key-officer']);
  });

  it('node-wide: a token for another user and a password change need approval, so one administrator cannot act as an approver', async () => {
    assert.equal(
      (
        await as('root', 'PUT', '/groups/*/approval-policy', {
          operations: ['role.change', 'token.create', 'user.passwd'],
          approvers: { users: ['root', 'root2'] },
          required: 1,
          expiresAfterHours: 1,
        })
      ).status,
      200,
    );
    const { id, mode } = pendingApproval(await as('root', 'POST', '/tokens', { name: 'as ann', user: 'ann' }));
    assert.equal(mode, 'claim');
    assert.equal((await as<ApprovalView>('root2', 'POST', `/approvals/${id}/approve`)).json.status, 'approved');
    const claimed = await as<CreatedToken>('root', 'POST', '/tokens', { name: 'as ann', user: 'ann' }, { 'x-keyhold-approval': id });
    assert.equal(claimed.status, 201, claimed.text);
    assert.match(claimed.json.token, /^kh_/);
    assert.ok(!(await as('root', 'GET', `/approvals/${id}`)).text.includes(claimed.json.token));

    const passwd = pendingApproval(await as('root', 'PUT', '/users/ann/password', { password: 'a brand new password' }));
    const row = await as('root', 'GET', `/approvals/${passwd.id}`);
    assert.ok(!row.text.includes('a brand new password'));
    assert.equal((await as('root', 'PUT', '/users/ann/password', { password: 'too short' })).status, 400);
    assert.equal((await as('root', 'DELETE', '/groups/*/approval-policy')).status, 204);
  });

  it('changing a gated approval policy needs approval too', async () => {
    const { id } = pendingApproval(await as('root', 'DELETE', '/groups/demo/approval-policy'));
    await as('ann', 'POST', `/approvals/${id}/approve`);
    assert.equal((await as<ApprovalView>('ben', 'POST', `/approvals/${id}/approve`)).json.status, 'done');
    assert.deepEqual(bodyOf(await admin(node, 'GET', '/groups/demo/approval-policy')), { group: 'demo', policy: null });
    // Without a policy, the same request runs at once.
    assert.equal((await as('olivia', 'POST', `/keys/${node.keyId}/disable`)).status, 200);
  });

  it('bad approval input is a one-line 4xx', async () => {
    const cases: [string, string, unknown, number, RegExp][] = [
      [
        'PUT',
        '/groups/demo/approval-policy',
        { operations: ['key.explode'], approvers: { role: 'approver' }, required: 1, expiresAfterHours: 1 },
        400,
        /operations/,
      ],
      [
        'PUT',
        '/groups/nosuch/approval-policy',
        { operations: ['key.disable'], approvers: { role: 'approver' }, required: 1, expiresAfterHours: 1 },
        404,
        /no group named "nosuch"/,
      ],
      [
        'PUT',
        '/groups/demo/approval-policy',
        { operations: ['key.disable'], approvers: { users: ['ghost'] }, required: 1, expiresAfterHours: 1 },
        400,
        /no active user named "ghost"/,
      ],
      ['POST', '/approvals/nope/approve', undefined, 404, /no approval request/],
      ['GET', '/approvals?status=weird', undefined, 400, /status/],
    ];
    for (const [method, path, body, status, reason] of cases) {
      const response = await as('root', method, path, body);
      assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
      assert.match(errorOf(response), reason);
      assert.ok(!errorOf(response).includes('\n'));
    }
  });
});
