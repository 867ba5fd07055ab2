import type { Actor } from '../access/actor.js';
import type { ApprovalMode, ApprovalPolicy, ApprovalStatus, Decision } from './approval-store.js';
import type { ApprovalOperation } from './operations.js';

/**
 * Quorum approvals (docs/access.md). A route describes the operation it is about to run; if the group's
 * approval policy lists it, the gate stores a pending request instead (the route answers 202), and the
 * executor registered for the operation runs exactly once when M approvers have approved. One denial
 * rejects. Operations whose input or result is secret (`define(..., { claim: true })`) store only a
 * digest of their parameters; once approved, the requester repeats the same request with
 * `X-Keyhold-Approval: <id>` and gets the result directly, once.
 *
 * One implementation, createApprovalGate (create-gate.ts). Refusals are ManagementErrors (one line).
 */
export interface ApprovalGate {
  /** Registers what runs when an approved `operation` executes. `claim` for secret inputs or results. */
  define<Params>(operation: ApprovalOperation, run: Executor<Params>, options?: { claim?: boolean }): void;
  /**
   * Of the groups an operation touches, the one whose approval policy covers it (so an edit that spans
   * groups cannot slip past the stricter one); else the first, else the node-wide scope.
   */
  pickGroup(groups: readonly string[], operation: ApprovalOperation): Promise<string>;
  /**
   * Runs the operation now, or stores a pending approval request when the group's policy requires one.
   * `approvalId` claims an approved request (claim-mode operations): same requester, operation and params.
   */
  run(operation: GatedOperation, actor: Actor, approvalId?: string): Promise<GateOutcome>;
  /** Every request (in one status, when given); pending requests past their expiry are expired first. */
  list(status?: ApprovalStatus): Promise<ApprovalView[]>;
  show(id: string): Promise<ApprovalView>;
  /**
   * Records an approver's decision. One denial rejects the request. The approval that completes the
   * quorum executes it (replay) or marks it approved for the requester to claim. `comment` (at most
   * MAX_VOTE_COMMENT characters, no control characters but line feeds and tabs) is kept with the vote.
   */
  decide(id: string, decision: Decision, actor: Actor, comment?: string): Promise<ApprovalView>;
  /** A group's policy (`*`: the node-wide one); undefined when it has none. */
  getPolicy(group: string): Promise<ApprovalPolicy | undefined>;
  /** Validates a policy (known operations, existing named approvers, a reachable quorum); returns it normalized. */
  checkPolicy(group: string, policy: ApprovalPolicy): Promise<ApprovalPolicy>;
  /** Sets or (with undefined) removes a group's policy, checking it first. */
  setPolicy(group: string, policy: ApprovalPolicy | undefined, actor: Actor): Promise<ApprovalPolicy | undefined>;
}

/** What a gated route hands the gate: a named operation on a group, with plain-JSON parameters. */
export interface GatedOperation {
  operation: ApprovalOperation;
  /** Group name, or NODE_WIDE ('*') for operations outside any group (role changes). */
  group: string;
  /** Plain JSON: stored with a pending request and handed to the executor when it runs. */
  params: unknown;
  /** One line for approvers, e.g. `disable key demo-key in group demo`. Never a secret. */
  summary: string;
}

/** The operation ran (its result), or waits for approvers. */
export type GateOutcome = { kind: 'done'; result: unknown } | { kind: 'pending'; approval: ApprovalView };

/**
 * Runs an operation with the requester's identity (permissions were checked when it was requested).
 * `params` are what the operation's route handed the gate (stored as JSON while the request waited).
 */
export type Executor<Params> = (params: Params, actor: Actor) => Promise<unknown>;

/** One approver's vote: who, when, and their comment when they gave one. */
export interface VoteView {
  user: string;
  at: string;
  comment?: string;
}

/** The longest comment a vote may carry. */
export const MAX_VOTE_COMMENT = 1000;

/** An approval request as the admin API shows it. */
export interface ApprovalView {
  id: string;
  operation: string;
  group: string;
  summary: string;
  status: ApprovalStatus;
  mode: ApprovalMode;
  requester: string;
  required: number;
  approvers: ApprovalPolicy['approvers'];
  approvals: VoteView[];
  denials: VoteView[];
  createdAt: string;
  expiresAt: string;
  finishedAt?: string;
  result?: unknown;
  error?: string;
}
