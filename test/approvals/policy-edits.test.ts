import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin } from '../helpers/xks-client.js';
import { createUsers, requireTwoApprovers } from '../helpers/users.js';

describe('policy edits under quorum approval (policy.edit)', () => {
  let node: TestNode;
  let as: Awaited<ReturnType<typeof createUsers>>;
  const approveTwice = async (id: string) => {
    assert.equal((await as('ann', 'POST', `/approvals/${id}/approve`)).json.status, 'pending');
    const done = await as('ben', 'POST', `/approvals/${id}/approve`);
    assert.equal(done.json.status, 'done', done.text);
    return done.json;
  };
  const denyAll = { name: 'deny-all', rules: [{ effect: 'deny', principal: ['*'] }] };

  before(async () => {
    node = await startTestNode();
    as = await createUsers(node, [
      ['root', ['administrator']],
      ['ann', ['approver']],
      ['ben', ['approver']],
    ]);
    await requireTwoApprovers(as, 'root', ['policy.edit']);
  });
  after(() => node?.close());

  it('creating a policy attached to a gated group waits for two approvers, then exists', async () => {
    const requested = await as('root', 'POST', '/policies', { ...denyAll, attach: { group: 'demo' } });
    assert.equal(requested.status, 202, requested.text);
    assert.equal((await admin(node, 'GET', '/policies/deny-all')).status, 404);
    const done = await approveTwice(requested.json.approval.id);
    assert.equal(done.result.name, 'deny-all');
    assert.deepEqual((await admin(node, 'GET', '/policies/deny-all')).json.attach, { group: 'demo' });
  });

  it('detaching and deleting a policy that applies to a gated group wait too', async () => {
    const detach = await as('root', 'POST', '/policies/deny-all/detach');
    assert.equal(detach.status, 202, detach.text);
    assert.deepEqual((await admin(node, 'GET', '/policies/deny-all')).json.attach, { group: 'demo' });
    await approveTwice(detach.json.approval.id);
    assert.equal((await admin(node, 'GET', '/policies/deny-all')).json.attach, undefined);
  });

  it('an unattached policy changes at once; attaching it to the gated group waits', async () => {
    const update = await as('root', 'PUT', '/policies/deny-all', { ...denyAll, description: 'changed' });
    assert.equal(update.status, 200, update.text);
    const attach = await as('root', 'POST', '/policies/deny-all/attach', { keystore: 'demo' });
    assert.equal(attach.status, 202, attach.text);
    await approveTwice(attach.json.approval.id);
    assert.deepEqual((await admin(node, 'GET', '/policies/deny-all')).json.attach, { keystore: 'demo' });
  });

  it("a group's default effect is a policy edit of that group", async () => {
    const requested = await as('root', 'PUT', '/policy-defaults/demo', { default: 'deny' });
    assert.equal(requested.status, 202, requested.text);
    const before = (await admin(node, 'GET', '/policy-defaults')).json;
    assert.deepEqual(before.find((d: { group: string }) => d.group === 'demo').default, 'allow');
    await approveTwice(requested.json.approval.id);
    const after = (await admin(node, 'GET', '/policy-defaults')).json;
    assert.deepEqual(after.find((d: { group: string }) => d.group === 'demo').default, 'deny');
  });
});
