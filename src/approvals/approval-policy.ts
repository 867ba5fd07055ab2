import { invalid } from '../core/errors.js';
import type { ApprovalPolicy } from './approval-store.js';
import { APPROVAL_OPERATIONS, isApprovalOperation } from './operations.js';

/** A pending request expires at most this long after it was made. */
export const MAX_EXPIRY_HOURS = 24 * 30;

/**
 * Checks a policy: known operations, approvers named (existing active users, a role, or both), a quorum
 * the named approvers can reach, a sane expiry. Returns it normalized (operations without repeats, empty
 * approver lists left out). Throws a one-line ManagementError.
 */
export async function checkApprovalPolicy(policy: ApprovalPolicy, userExists: (name: string) => Promise<boolean>): Promise<ApprovalPolicy> {
  const unknown = policy.operations.find((op) => !isApprovalOperation(op));
  if (unknown !== undefined) throw invalid(`unknown operation "${unknown}"; operations are ${APPROVAL_OPERATIONS.join(', ')}`);
  const users = policy.approvers.users ?? [];
  if (users.length === 0 && policy.approvers.role === undefined) throw invalid('name approvers: users, a role, or both');
  for (const user of users) if (!(await userExists(user))) throw invalid(`no active user named "${user}"`);
  if (!Number.isInteger(policy.required) || policy.required < 1) throw invalid('required approvals must be a whole number of at least 1');
  if (policy.approvers.role === undefined && policy.required > users.length) {
    throw invalid(`${policy.required} approvals required but only ${users.length} approvers named`);
  }
  if (!(policy.expiresAfterHours > 0 && policy.expiresAfterHours <= MAX_EXPIRY_HOURS)) {
    throw invalid(`expiresAfterHours must be more than 0 and at most ${MAX_EXPIRY_HOURS}`);
  }
  return {
    operations: [...new Set(policy.operations)],
    approvers: { ...(users.length ? { users } : {}), ...(policy.approvers.role ? { role: policy.approvers.role } : {}) },
    required: policy.required,
    expiresAfterHours: policy.expiresAfterHours,
  };
}
