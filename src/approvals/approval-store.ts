import type { ActorRef } from '../access/actor.js';

/** A group's (or the node-wide) approval policy: which operations wait for how many of which approvers. */
export interface ApprovalPolicy {
  operations: string[];
  /** Named users, holders of a role, or both. */
  approvers: { users?: string[]; role?: string };
  /** Approvals needed (one denial rejects). */
  required: number;
  /** A pending request expires after this long. */
  expiresAfterHours: number;
}

/**
 * pending → executing → done | failed (replayed by the final approval), or pending → approved →
 * executing → done | failed (claimed by the requester, for operations whose input or result is secret);
 * pending → denied | expired.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'executing' | 'done' | 'failed' | 'denied' | 'expired';
export const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'executing', 'done', 'failed', 'denied', 'expired'];

/** `replay`: the final approval runs the stored params; `claim`: the requester repeats the request to run it. */
export type ApprovalMode = 'replay' | 'claim';

export type Decision = 'approve' | 'deny';

export interface ApprovalRequest {
  id: string;
  operation: string;
  groupId: string;
  groupName: string;
  summary: string;
  /** The operation's plain-JSON parameters (replay), or `{ sha256 }` of them (claim). */
  params: unknown;
  mode: ApprovalMode;
  requester: ActorRef;
  /** The policy as it was when requested. */
  policy: ApprovalPolicy;
  status: ApprovalStatus;
  createdAt: number;
  expiresAt: number;
  finishedAt?: number;
  result?: unknown;
  error?: string;
}

export interface ApprovalVote {
  voterId: string;
  voterName: string;
  decision: Decision;
  createdAt: number;
  /** What the approver said with the vote (at most 1,000 characters); absent when nothing. */
  comment?: string;
}

/**
 * Approval policies, requests and votes in the node's database (SQLite or PostgreSQL); one
 * implementation, sql-approval-store.ts. Every method is one statement.
 */
export interface ApprovalStore {
  /** A group's policy (by group id, or `*` for the node-wide one). */
  getPolicy(groupId: string): Promise<ApprovalPolicy | undefined>;
  /** Sets (inserts or replaces) a group's policy. */
  setPolicy(groupId: string, policy: ApprovalPolicy, at: number): Promise<void>;
  /** Removes a group's policy; false when it had none. */
  deletePolicy(groupId: string): Promise<boolean>;

  createRequest(request: ApprovalRequest): Promise<void>;
  getRequest(id: string): Promise<ApprovalRequest | undefined>;
  /** Every request (in one status, when given), oldest first. */
  listRequests(status?: ApprovalStatus): Promise<ApprovalRequest[]>;
  /** Pending requests whose expiry has passed. */
  listDue(now: number): Promise<ApprovalRequest[]>;
  /**
   * Moves a request from one status to another only if it is still in `from`: one statement, so of
   * several nodes or callers racing, exactly one sees true. A final status stamps `finishedAt`.
   */
  transition(
    id: string,
    from: ApprovalStatus,
    to: ApprovalStatus,
    at: number,
    outcome?: { result?: unknown; error?: string },
  ): Promise<boolean>;

  /** Records a vote; a second vote of the same voter throws StoreConflictError. */
  addVote(requestId: string, vote: ApprovalVote): Promise<void>;
  /** A request's votes, in the order they were cast. */
  listVotes(requestId: string): Promise<ApprovalVote[]>;
}
