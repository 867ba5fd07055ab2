import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Actor } from '../../src/access/actor.js';
import type { AdminEvent } from '../../src/audit/admin-events.js';
import { createApprovalGate } from '../../src/approvals/create-gate.js';
import type { ApprovalGate, GatedOperation, GateOutcome } from '../../src/approvals/gate.js';
import { createApprovalStore } from '../../src/approvals/sql-approval-store.js';
import { ManualClock } from '../../src/core/clock.js';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import type { DatabaseConnection } from '../../src/storage/connection.js';
import { dialectTargets } from '../helpers/dialects.js';
import { recordingEvents, refusedWith as refused } from '../helpers/recorded.js';

const HOUR = 3_600_000;
const user = (name: string): Actor => ({ kind: 'user', id: `id-${name}`, name, permissions: new Set() });
const [requester, ann, ben, cat, dan] = ['rita', 'ann', 'ben', 'cat', 'dan'].map(user) as [Actor, Actor, Actor, Actor, Actor];
/** The id of the request a gated operation is waiting on. */
const pendingId = (outcome: GateOutcome) => (outcome.kind === 'pending' ? outcome.approval.id : assert.fail('expected pending'));
/** Users holding the approver role (role-based approvers). */
const approverRole = new Set(['id-cat', 'id-dan', 'id-ann']);

for (const target of dialectTargets()) {
  describe(`approval gate on ${target.name}`, () => {
    let stores: DatabaseConnection[] = [];
    let clock: ManualClock;
    const recorder = recordingEvents();
    const events: AdminEvent[] = recorder.events;
    let runs: { params: unknown; actor: string }[];

    /** A gate as one node would have it; several share the database like nodes of a fleet. */
    async function newGate(): Promise<ApprovalGate> {
      const store = await target.connect();
      stores.push(store);
      const gate = createApprovalGate({
        store: createApprovalStore(store),
        groups: createKeystoreStore(store),
        clock,
        newId: randomUUID,
        userRoles: (id) => Promise.resolve(approverRole.has(id) ? ['approver'] : []),
        userExists: (name) => Promise.resolve(['ann', 'ben', 'cat', 'dan', 'rita'].includes(name)),
        events: recorder,
      });
      gate.define('key.disable', (params: { id: string }, actor) => {
        runs.push({ params, actor: actor.name });
        return Promise.resolve({ disabled: params.id });
      });
      gate.define('keystore.disable', () => Promise.reject(new Error('keystore "x" vanished')));
      gate.define('credential.reveal', (params: { name: string }) => Promise.resolve({ secret: `secret-of-${params.name}` }), {
        claim: true,
      });
      return gate;
    }

    const firstStore = () => stores[0] ?? assert.fail('no store open');
    let gate: ApprovalGate;
    before(async () => {
      await target.setUp();
      clock = new ManualClock(Date.UTC(2026, 10, 28));
      runs = [];
      gate = await newGate();
      for (const name of ['named', 'byrole', 'open'])
        await createKeystoreStore(firstStore()).createGroup({ id: `g-${name}`, name, createdAt: clock.now() });
      await gate.setPolicy(
        'named',
        {
          operations: ['key.disable', 'keystore.disable', 'credential.reveal'],
          approvers: { users: ['ann', 'ben', 'cat'] },
          required: 2,
          expiresAfterHours: 24,
        },
        ann,
      );
      await gate.setPolicy(
        'byrole',
        { operations: ['key.disable'], approvers: { role: 'approver' }, required: 2, expiresAfterHours: 1 },
        ann,
      );
    });
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
      stores = [];
      await target.tearDown();
    });

    const disable = (group: string, id: string): GatedOperation => ({
      operation: 'key.disable',
      group,
      params: { id },
      summary: `disable key ${id}`,
    });

    it('runs at once when the group has no policy for the operation', async () => {
      const outcome = await gate.run(disable('open', 'k0'), requester);
      assert.deepEqual(outcome, { kind: 'done', result: { disabled: 'k0' } });
      assert.equal(runs.length, 1);
    });

    it('M-of-N named approvers: waits, then runs once with the stored params when the quorum is met', async () => {
      runs.length = 0;
      const id = pendingId(await gate.run(disable('named', 'k1'), requester));
      assert.equal(runs.length, 0);
      const first = await gate.decide(id, 'approve', ann);
      assert.equal(first.status, 'pending');
      assert.deepEqual(
        first.approvals.map((a) => a.user),
        ['ann'],
      );
      const second = await gate.decide(id, 'approve', ben);
      assert.equal(second.status, 'done');
      assert.deepEqual(second.result, { disabled: 'k1' });
      assert.deepEqual(runs, [{ params: { id: 'k1' }, actor: 'rita' }]);
      await assert.rejects(gate.decide(id, 'approve', cat), refused('conflict', /already done/));
      assert.deepEqual(
        events.filter((e) => e.target?.approval === id).map((e) => `${e.action}:${e.outcome}`),
        [
          'approval.request:pending',
          'approval.approve:success',
          'approval.approve:success',
          'approval.execute:success',
          'approval.approve:denied',
        ],
      );
    });

    it('role approvers: anyone holding the role counts; others are refused', async () => {
      runs.length = 0;
      const id = pendingId(await gate.run(disable('byrole', 'k2'), requester));
      await assert.rejects(gate.decide(id, 'approve', ben), refused('invalid', /ben is not an approver for byrole/));
      await gate.decide(id, 'approve', cat);
      assert.equal((await gate.decide(id, 'approve', dan)).status, 'done');
      assert.equal(runs.length, 1);
    });

    it('the requester cannot approve their own request; an approver counts once; tokens cannot vote', async () => {
      const id = pendingId(await gate.run(disable('named', 'k3'), ann));
      await assert.rejects(gate.decide(id, 'approve', ann), refused('invalid', /your own request/));
      await gate.decide(id, 'approve', ben);
      await assert.rejects(gate.decide(id, 'approve', ben), refused('conflict', /already decided/));
      const token: Actor = { kind: 'token', id: 'bootstrap', name: 'bootstrap', permissions: new Set() };
      await assert.rejects(gate.decide(id, 'approve', token), refused('invalid', /only users/));
      const view = await gate.show(id);
      assert.equal(view.status, 'pending');
      assert.deepEqual(
        view.approvals.map((a) => a.user),
        ['ben'],
      );
    });

    it('one denial rejects the request; it never runs', async () => {
      runs.length = 0;
      const id = pendingId(await gate.run(disable('named', 'k4'), requester));
      await gate.decide(id, 'approve', ann);
      assert.equal((await gate.decide(id, 'deny', cat)).status, 'denied');
      await assert.rejects(gate.decide(id, 'approve', ben), refused('conflict', /already denied/));
      assert.equal(runs.length, 0);
      assert.ok(events.some((e) => e.action === 'approval.deny' && e.target?.approval === id && e.outcome === 'success'));
    });

    it('a request expires (ManualClock): late approvals are refused and it never runs', async () => {
      runs.length = 0;
      const id = pendingId(await gate.run(disable('byrole', 'k5'), requester));
      await gate.decide(id, 'approve', cat);
      clock.advance(HOUR);
      await assert.rejects(gate.decide(id, 'approve', dan), refused('conflict', /expired at/));
      assert.equal((await gate.show(id)).status, 'expired');
      assert.equal(runs.length, 0);
      assert.ok(events.some((e) => e.action === 'approval.expire' && e.target?.approval === id));
      assert.deepEqual(
        (await gate.list('expired')).map((a) => a.id),
        [id],
      );
    });

    it('exactly once: the final approvals fired in parallel, from several nodes, run the operation once', async () => {
      const [second, third] = [await newGate(), await newGate()];
      for (let round = 0; round < 5; round++) {
        runs.length = 0;
        const id = pendingId(await gate.run(disable('named', `race-${round}`), requester));
        // 2 of 3 required: all three approve at once, each through a different node.
        const results = await Promise.allSettled([
          gate.decide(id, 'approve', ann),
          second.decide(id, 'approve', ben),
          third.decide(id, 'approve', cat),
        ]);
        for (const result of results) {
          if (result.status === 'rejected')
            assert.ok(refused('conflict', /already (executing|done)/)(result.reason), String(result.reason));
        }
        assert.equal(runs.length, 1, `round ${round}: ran ${runs.length} times`);
        const view = await gate.show(id);
        assert.equal(view.status, 'done');
        assert.equal(events.filter((e) => e.action === 'approval.execute' && e.target?.approval === id).length, 1);
      }
    });

    it('a failed execution is stored on the request and audited', async () => {
      const id = pendingId(
        await gate.run({ operation: 'keystore.disable', group: 'named', params: { name: 'x' }, summary: 'disable keystore x' }, requester),
      );
      await gate.decide(id, 'approve', ann);
      const view = await gate.decide(id, 'approve', ben);
      assert.equal(view.status, 'failed');
      assert.equal(view.error, 'keystore "x" vanished');
      assert.ok(events.some((e) => e.action === 'approval.execute' && e.outcome === 'failure' && e.detail === 'keystore "x" vanished'));
    });

    it('claim mode (secret results): only a digest is stored; the requester claims the result once', async () => {
      const op: GatedOperation = { operation: 'credential.reveal', group: 'named', params: { name: 'ks1' }, summary: 'reveal ks1' };
      const id = pendingId(await gate.run(op, requester));
      await assert.rejects(gate.run(op, requester, id), refused('conflict', /is pending, not approved/));
      await gate.decide(id, 'approve', ann);
      const approved = await gate.decide(id, 'approve', ben);
      assert.equal(approved.status, 'approved');
      assert.equal(approved.result, undefined);
      await assert.rejects(gate.run(op, ann, id), refused('invalid', /only the requester/));
      await assert.rejects(gate.run({ ...op, params: { name: 'other' } }, requester, id), refused('invalid', /different parameters/));
      assert.deepEqual(await gate.run(op, requester, id), { kind: 'done', result: { secret: 'secret-of-ks1' } });
      await assert.rejects(gate.run(op, requester, id), refused('conflict', /is done, not approved/));
      const rows = await firstStore()
        .tables<{ approval_requests: { id: string; params: string; result: string | null } }>()
        .selectFrom('approval_requests')
        .selectAll()
        .where('id', '=', id)
        .execute();
      assert.ok(!JSON.stringify(rows).includes('secret-of-ks1'));
      assert.equal(rows.length, 1);
      assert.ok(rows.every((row) => !row.params.includes('ks1')));
    });

    it('policies are validated: known operations, existing approvers, a reachable quorum', async () => {
      const base = { operations: ['key.disable'], approvers: { users: ['ann', 'ben'] }, required: 2, expiresAfterHours: 24 };
      await assert.rejects(
        gate.checkPolicy('named', { ...base, operations: ['key.explode'] }),
        refused('invalid', /unknown operation "key.explode"/),
      );
      await assert.rejects(
        gate.checkPolicy('named', { ...base, approvers: { users: ['zed'] }, required: 1 }),
        refused('invalid', /no active user named "zed"/),
      );
      await assert.rejects(gate.checkPolicy('named', { ...base, required: 3 }), refused('invalid', /3 approvals required but only 2/));
      await assert.rejects(gate.checkPolicy('named', { ...base, approvers: {} }), refused('invalid', /name approvers/));
      await assert.rejects(gate.checkPolicy('named', { ...base, expiresAfterHours: 0 }), refused('invalid', /expiresAfterHours/));
      await assert.rejects(gate.checkPolicy('nosuch', base), refused('not-found', /no group named "nosuch"/));
      assert.deepEqual(await gate.checkPolicy('*', base), base);
    });
  });
}
