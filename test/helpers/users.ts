import assert from 'node:assert/strict';
import type { ApprovalView } from '../../src/approvals/gate.js';
import { answerAs, bodyOf, type AdminAnswer, type CreatedToken } from './admin-json.js';
import { startTestNode, type TestNode } from './node-harness.js';
import { admin, adminAs } from './xks-client.js';

/** Calls the admin API as one of the users createUsers made; the body is read as `T` (admin-json.ts). */
export type ActAs = <T = unknown>(
  who: string,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<AdminAnswer<T>>;

/**
 * Creates users with roles (through the admin API, as the bootstrap token) and an API token for each;
 * returns a caller that acts as one of them: `as('ann', 'POST', '/approvals/ID/approve')`.
 */
export async function createUsers(node: TestNode, users: readonly (readonly [name: string, roles: readonly string[]])[]): Promise<ActAs> {
  const tokens = new Map<string, string>();
  for (const [name, roles] of users) {
    const created = await admin(node, 'POST', '/users', { name, password: `${name} password 123`, roles });
    assert.equal(created.status, 201, created.text);
    tokens.set(name, bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: 'test', user: name }), 201).token);
  }
  return async (who, method, path, body, headers) => answerAs(await adminAs(node, tokens.get(who), method, path, body, headers));
}

/** Makes `operations` on the demo group wait for two users of the `approver` role, set by `administrator`. */
export async function requireTwoApprovers(
  as: ActAs,
  administrator: string,
  operations: readonly string[],
  expiresAfterHours = 1,
): Promise<void> {
  const policy = await as(administrator, 'PUT', '/groups/demo/approval-policy', {
    operations,
    approvers: { role: 'approver' },
    required: 2,
    expiresAfterHours,
  });
  assert.equal(policy.status, 200, policy.text);
}

/**
 * The setup the quorum suites share: a test node, `users` (one of them `root`, an administrator), and
 * `operations` on the demo group waiting for two approvers (approveTwice).
 */
export async function startNodeWithApprovers(
  users: readonly (readonly [name: string, roles: readonly string[]])[],
  operations: readonly string[],
  expiresAfterHours?: number,
): Promise<{ node: TestNode; as: ActAs }> {
  const node = await startTestNode();
  const as = await createUsers(node, users);
  await requireTwoApprovers(as, 'root', operations, expiresAfterHours);
  return { node, as };
}

/** `ann` approves (the request still waits), then `ben` (it runs); returns the done request. */
export async function approveTwice(as: ActAs, id: string): Promise<ApprovalView> {
  assert.equal((await as<ApprovalView>('ann', 'POST', `/approvals/${id}/approve`)).json.status, 'pending');
  const done = await as<ApprovalView>('ben', 'POST', `/approvals/${id}/approve`);
  assert.equal(done.json.status, 'done', done.text);
  return done.json;
}
