import assert from 'node:assert/strict';
import type { TestNode } from './node-harness.js';
import { admin, adminAs, adminOk, type XksResponse } from './xks-client.js';

/**
 * Creates users with roles (through the admin API, as the bootstrap token) and an API token for each;
 * returns a caller that acts as one of them: `as('ann', 'POST', '/approvals/ID/approve')`.
 */
export async function createUsers(node: TestNode, users: readonly (readonly [name: string, roles: readonly string[]])[]) {
  const tokens = new Map<string, string>();
  for (const [name, roles] of users) {
    const created = await admin(node, 'POST', '/users', { name, password: `${name} password 123`, roles });
    assert.equal(created.status, 201, created.text);
    tokens.set(name, (await adminOk<{ token: string }>(node, 'POST', '/tokens', { name: 'test', user: name })).token);
  }
  return (who: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<XksResponse> =>
    adminAs(node, tokens.get(who), method, path, body, headers);
}

type ActAs = Awaited<ReturnType<typeof createUsers>>;

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
