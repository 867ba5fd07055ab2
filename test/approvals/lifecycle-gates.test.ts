import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bodyOf, pendingApproval } from '../helpers/admin-json.js';
import type { TestNode } from '../helpers/node-harness.js';
import { admin } from '../helpers/xks-client.js';
import { approveTwice, startNodeWithApprovers, type ActAs } from '../helpers/users.js';

/** A key or keystore as the admin API shows it (the fields these tests read). */
type Shown = { status: string; rotationPeriodDays?: number };
type Version = { version: number; state: string };
/** An audit search page (the fields these tests read). */
type AuditPage = { events: { actorName?: string; outcome?: string }[] };

describe('key lifecycle operations under quorum approval', () => {
  let node: TestNode;
  let as: ActAs;
  /** Requests (as the key officer unless told), checks nothing changed while pending, then two approvers complete it. */
  const throughQuorum = async (method: string, path: string, body: unknown, unchanged: () => Promise<void>, requester = 'olivia') => {
    const { id } = pendingApproval(await as(requester, method, path, body));
    await unchanged();
    return (await approveTwice(as, id)).result;
  };
  const key = async () => bodyOf<Shown>(await admin(node, 'GET', `/keys/${node.keyId}`));
  const version1 = async () => bodyOf<Version[]>(await admin(node, 'GET', `/keys/${node.keyId}/versions`)).find((v) => v.version === 1);

  before(async () => {
    ({ node, as } = await startNodeWithApprovers(
      [
        ['olivia', ['key-officer']],
        ['ann', ['approver']],
        ['ben', ['approver']],
        ['root', ['administrator']],
      ],
      ['key.block', 'key.schedule-deletion', 'key.rotation-policy', 'key.destroy', 'keystore.block'],
    ));
  });
  after(() => node.close());

  it('a rotation policy change waits for the quorum, then applies', async () => {
    const result = await throughQuorum('PUT', `/keys/${node.keyId}/rotation-policy`, { days: 90 }, async () => {
      assert.equal((await key()).rotationPeriodDays, undefined);
    });
    assert.deepEqual((await key()).rotationPeriodDays, 90);
    assert.ok(typeof result === 'object' && result !== null && 'rotationPeriodDays' in result && result.rotationPeriodDays === 90);
  });

  it('destroying an old version waits for the quorum; rotation and revocation (not gated) run at once', async () => {
    assert.equal((await as('olivia', 'POST', `/keys/${node.keyId}/rotate`)).status, 200);
    assert.equal((await as('olivia', 'POST', `/keys/${node.keyId}/versions/1/revoke`)).status, 200);
    await throughQuorum('POST', `/keys/${node.keyId}/versions/1/destroy`, undefined, async () => {
      assert.equal((await version1())?.state, 'REVOKED');
    });
    assert.equal((await version1())?.state, 'DESTROYED');
  });

  it('blocking the key and the keystore, and scheduling deletion, each wait for the quorum', async () => {
    await throughQuorum('POST', `/keys/${node.keyId}/block`, { reason: 'incident 42' }, async () =>
      assert.equal((await key()).status, 'ENABLED'),
    );
    assert.equal((await key()).status, 'BLOCKED');
    assert.equal((await as('olivia', 'POST', `/keys/${node.keyId}/unblock`)).status, 200);

    const keystoreStatus = async () => bodyOf<Shown>(await admin(node, 'GET', '/keystores/demo')).status;
    await throughQuorum(
      'POST',
      '/keystores/demo/block',
      { reason: 'incident 43' },
      async () => {
        assert.equal(await keystoreStatus(), 'ENABLED');
      },
      'root',
    );
    assert.equal(await keystoreStatus(), 'BLOCKED');

    await throughQuorum('POST', `/keys/${node.keyId}/schedule-deletion`, { days: 7 }, async () =>
      assert.equal((await key()).status, 'ENABLED'),
    );
    assert.equal((await key()).status, 'PENDING_DELETION');
  });

  it('every approval step is in the audit log, with the approver as actor', async () => {
    const search = async (action: string) => bodyOf<AuditPage>(await admin(node, 'GET', `/audit/events?action=${action}&limit=100`)).events;
    const requested = await search('approval.request');
    const approvals = await search('approval.approve');
    const executed = await search('approval.execute');
    assert.ok(requested.length >= 5, JSON.stringify(requested).slice(0, 300));
    assert.ok(approvals.some((e) => e.actorName === 'ann') && approvals.some((e) => e.actorName === 'ben'));
    assert.ok(executed.length >= 5 && executed.every((e) => e.outcome === 'success'));
  });
});
