import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GroupDefaultView, PolicyView } from '../../src/policies/service.js';
import { bodyOf, pendingApproval } from '../helpers/admin-json.js';
import type { TestNode } from '../helpers/node-harness.js';
import { admin } from '../helpers/xks-client.js';
import { approveTwice, startNodeWithApprovers, type ActAs } from '../helpers/users.js';

describe('policy edits under quorum approval (policy.edit)', () => {
  let node: TestNode;
  let as: ActAs;
  const denyAll = { name: 'deny-all', rules: [{ effect: 'deny', principal: ['*'] }] };
  const shown = () => admin(node, 'GET', '/policies/deny-all');
  const attachment = async () => bodyOf<PolicyView>(await shown()).attach;
  const demoDefault = async () =>
    bodyOf<GroupDefaultView[]>(await admin(node, 'GET', '/policy-defaults')).find((d) => d.group === 'demo')?.default;

  before(async () => {
    ({ node, as } = await startNodeWithApprovers(
      [
        ['root', ['administrator']],
        ['ann', ['approver']],
        ['ben', ['approver']],
      ],
      ['policy.edit'],
    ));
  });
  after(() => node.close());

  it('creating a policy attached to a gated group waits for two approvers, then exists', async () => {
    const { id } = pendingApproval(await as('root', 'POST', '/policies', { ...denyAll, attach: { group: 'demo' } }));
    assert.equal((await shown()).status, 404);
    const done = await approveTwice(as, id);
    assert.ok(typeof done.result === 'object' && done.result !== null && 'name' in done.result && done.result.name === 'deny-all');
    assert.deepEqual(await attachment(), { group: 'demo' });
  });

  it('detaching and deleting a policy that applies to a gated group wait too', async () => {
    const { id } = pendingApproval(await as('root', 'POST', '/policies/deny-all/detach'));
    assert.deepEqual(await attachment(), { group: 'demo' });
    await approveTwice(as, id);
    assert.equal(await attachment(), undefined);
  });

  it('an unattached policy changes at once; attaching it to the gated group waits', async () => {
    const update = await as('root', 'PUT', '/policies/deny-all', { ...denyAll, description: 'changed' });
    assert.equal(update.status, 200, update.text);
    const { id } = pendingApproval(await as('root', 'POST', '/policies/deny-all/attach', { keystore: 'demo' }));
    await approveTwice(as, id);
    assert.deepEqual(await attachment(), { keystore: 'demo' });
  });

  it("a group's default effect is a policy edit of that group", async () => {
    const { id } = pendingApproval(await as('root', 'PUT', '/policy-defaults/demo', { default: 'deny' }));
    assert.equal(await demoDefault(), 'allow');
    await approveTwice(as, id);
    assert.equal(await demoDefault(), 'deny');
  });
});
