import type { ApprovalRequest, ApprovalVote, Decision } from './approval-store.js';
import type { ApprovalView } from './gate.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A request and its votes as the admin API shows them. */
export function approvalView(request: ApprovalRequest, votes: readonly ApprovalVote[]): ApprovalView {
  const pick = (decision: Decision) =>
    votes
      .filter((v) => v.decision === decision)
      .map((v) => ({ user: v.voterName, at: iso(v.createdAt), ...(v.comment === undefined ? {} : { comment: v.comment }) }));
  return {
    id: request.id,
    operation: request.operation,
    group: request.groupName,
    summary: request.summary,
    status: request.status,
    mode: request.mode,
    requester: request.requester.name,
    required: request.policy.required,
    approvers: request.policy.approvers,
    approvals: pick('approve'),
    denials: pick('deny'),
    createdAt: iso(request.createdAt),
    expiresAt: iso(request.expiresAt),
    finishedAt: request.finishedAt === undefined ? undefined : iso(request.finishedAt),
    result: request.result,
    error: request.error,
  };
}
