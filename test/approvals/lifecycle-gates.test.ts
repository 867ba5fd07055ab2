import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin } from '../helpers/xks-client.js';
import { createUsers, requireTwoApprovers } from '../helpers/users.js';

describe('key lifecycle operations under quorum approval', () => {
  let node: TestNode;
  let as: Awaited<ReturnType<typeof createUsers>>;
  /** Requests (as the key officer unless told), checks nothing changed while pending, then two approvers complete it. */
  const throughQuorum = async (method: string, path: string, body: unknown, unchanged: () => Promise<void>, requester = 'olivia') => {
    const requested = await as(requester, method, path, body);
    assert.equal(requested.status, 202, requested.text);
    await unchanged();
    assert.equal((await as('ann', 'POST', `/approvals/${requested.json.approval.id}/approve`)).json.status, 'pending');
    const done = await as('ben', 'POST', `/approvals/${requested.json.approval.id}/approve`);
    assert.equal(done.json.status, 'done', done.text);
    return done.json.result;
  };
  const key = () => admin(node, 'GET', `/keys/${node.keyId}`).then((r) => r.json);

  before(async () => {
    node = await startTestNode();
    as = await createUsers(node, [
      ['olivia', ['key-officer']],
      ['ann', ['approver']],
      ['ben', ['approver']],
      ['root', ['administrator']],
    ]);
    await requireTwoApprovers(as, 'root', ['key.block', 'key.schedule-deletion', 'key.rotation-policy', 'key.destroy', 'keystore.block']);
  });
  after(() => node?.close());

  it('a rotation policy change waits for the quorum, then applies', async () => {
    const result = await throughQuorum('PUT', `/keys/${node.keyId}/rotation-policy`, { days: 90 }, async () => {
      assert.equal((await key()).rotationPeriodDays, undefined);
    });
    assert.equal(result.rotationPeriodDays, 90);
  });

  it('destroying an old version waits for the quorum; rotation and revocation (not gated) run at once', async () => {
    assert.equal((await as('olivia', 'POST', `/keys/${node.keyId}/rotate`)).status, 200);
    assert.equal((await as('olivia', 'POST', `/keys/${node.keyId}/versions/1/revoke`)).status, 200);
    await throughQuorum('POST', `/keys/${node.keyId}/versions/1/destroy`, undefined, async () => {
      const versions = (await admin(node, 'GET', `/keys/${node.keyId}/versions`)).json;
      assert.equal(versions.find((v: { version: number }) => v.version === 1).state, 'REVOKED');
    });
    const versions = (await admin(node, 'GET', `/keys/${node.keyId}/versions`)).json;
    assert.equal(versions.find((v: { version: number }) => v.version === 1).state, 'DESTROYED');
  });

  it('blocking the key and the keystore, and scheduling deletion, each wait for the quorum', async () => {
    await throughQuorum('POST', `/keys/${node.keyId}/block`, { reason: 'incident 42' }, async () =>
      assert.equal((await key()).status, 'ENABLED'),
    );
    assert.equal((await key()).status, 'BLOCKED');
    assert.equal((await as('olivia', 'POST', `/keys/${node.keyId}/unblock`)).status, 200);

    await throughQuorum(
      'POST',
      '/keystores/demo/block',
      { reason: 'incident 43' },
      async () => {
        assert.equal((await admin(node, 'GET', '/keystores/demo')).json.status, 'ENABLED');
      },
      'root',
    );
    assert.equal((await admin(node, 'GET', '/keystores/demo')).json.status, 'BLOCKED');

    await throughQuorum('POST', `/keys/${node.keyId}/schedule-deletion`, { days: 7 }, async () =>
      assert.equal((await key()).status, 'ENABLED'),
    );
    assert.equal((await key()).status, 'PENDING_DELETION');
  });

  it('every approval step is in the audit log, with the approver as actor', async () => {
    const search = async (action: string) => (await admin(node, 'GET', `/audit/events?action=${action}&limit=100`)).json;
    const requested = await search('approval.request');
    const approvals = await search('approval.approve');
    const executed = await search('approval.execute');
    const events = (page: { events?: unknown[] } | unknown[]) =>
      (Array.isArray(page) ? page : (page.events ?? [])) as { actorName?: string; outcome?: string }[];
    assert.ok(events(requested).length >= 5, JSON.stringify(requested).slice(0, 300));
    assert.ok(events(approvals).some((e) => e.actorName === 'ann') && events(approvals).some((e) => e.actorName === 'ben'));
    assert.ok(events(executed).length >= 5 && events(executed).every((e) => e.outcome === 'success'));
  });
});
