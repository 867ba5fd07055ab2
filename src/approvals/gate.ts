import { createHash } from 'node:crypto';
import type { Actor } from '../admin/permissions.js';
import { discardAdminEvents, type AdminEventSink } from '../audit/admin-events.js';
import type { Clock } from '../core/clock.js';
import { conflict, invalid, type ManagementError, notFound } from '../core/errors.js';
import type { KeystoreStore } from '../keystores/keystore-store.js';
import type { Store } from '../storage/store.js';
import { translateStoreError } from '../storage/translate-error.js';
import {
  createApprovalStore,
  type ApprovalMode,
  type ApprovalPolicy,
  type ApprovalRequest,
  type ApprovalStatus,
  type ApprovalVote,
} from './approval-store.js';
import { APPROVAL_OPERATIONS, NODE_WIDE } from './operations.js';

/** What a gated route hands the gate: a named operation on a group, with plain-JSON parameters. */
export interface GatedOperation {
  operation: string;
  /** Group name, or NODE_WIDE ('*') for operations outside any group (role changes). */
  group: string;
  params: unknown;
  /** One line for approvers, e.g. `disable key demo-key in group demo`. Never a secret. */
  summary: string;
}

export type GateOutcome = { kind: 'done'; result: unknown } | { kind: 'pending'; approval: ApprovalView };

/** Runs an operation with the requester's identity (permissions were checked when it was requested). */
export type Executor = (params: any, actor: Actor) => Promise<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any

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
  approvals: { user: string; at: string }[];
  denials: { user: string; at: string }[];
  createdAt: string;
  expiresAt: string;
  finishedAt?: string;
  result?: unknown;
  error?: string;
}

export interface ApprovalGateDeps {
  store: Store;
  /** Groups (src/keystores/): an approval rule may name a group. */
  keystoreStore: Pick<KeystoreStore, 'getGroupByName'>;
  clock: Clock;
  newId: () => string;
  /** The roles a user holds now (to check role-based approvers). */
  userRoles: (userId: string) => Promise<readonly string[]>;
  /** Whether a user exists and is active (to check named approvers in a policy). */
  userExists: (name: string) => Promise<boolean>;
  events?: AdminEventSink;
}

const MAX_EXPIRY_HOURS = 24 * 30;
const digest = (params: unknown) =>
  createHash('sha256')
    .update(JSON.stringify(params ?? null))
    .digest('hex');
const iso = (ms: number) => new Date(ms).toISOString();
const who = (actor: { kind: 'user' | 'token'; id: string; name: string }) => ({ kind: actor.kind, id: actor.id, name: actor.name });
const oneLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 500);

/**
 * Quorum approvals. A route describes the operation it is about to run; if the group's approval policy
 * lists it, the gate stores a pending request instead (the route answers 202), and the executor
 * registered for the operation runs exactly once when M approvers have approved. One denial rejects.
 *
 * Operations whose input or result is secret (`define(..., { claim: true })`) store only a digest of
 * their parameters; once approved, the requester repeats the same request with `X-Keyhold-Approval: <id>`
 * and gets the result directly, once.
 */
export function createApprovalGate({
  store,
  keystoreStore,
  clock,
  newId,
  userRoles,
  userExists,
  events = discardAdminEvents,
}: ApprovalGateDeps) {
  const approvals = createApprovalStore(store);
  const executors = new Map<string, { run: Executor; mode: ApprovalMode }>();

  async function groupId(group: string): Promise<string | undefined> {
    if (group === NODE_WIDE) return NODE_WIDE;
    return (await keystoreStore.getGroupByName(group))?.id;
  }

  async function view(request: ApprovalRequest, votes?: ApprovalVote[]): Promise<ApprovalView> {
    const all = votes ?? (await approvals.listVotes(request.id));
    const pick = (decision: ApprovalVote['decision']) =>
      all.filter((v) => v.decision === decision).map((v) => ({ user: v.voterName, at: iso(v.createdAt) }));
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

  const eventTarget = (r: ApprovalRequest) => ({ approval: r.id, operation: r.operation, group: r.groupName });

  /** Marks pending requests past their expiry as expired (and audits each, once). */
  async function expireDue(): Promise<void> {
    const now = clock.now();
    for (const request of await approvals.listDue(now)) {
      if (await approvals.transition(request.id, 'pending', 'expired', now)) {
        await events.record({
          actor: { kind: 'system', id: 'system', name: 'system' },
          action: 'approval.expire',
          target: eventTarget(request),
          outcome: 'failure',
          detail: 'expired before the quorum was met',
        });
      }
    }
  }

  async function requireRequest(id: string): Promise<ApprovalRequest> {
    await expireDue();
    const request = await approvals.getRequest(id);
    if (!request) throw notFound(`no approval request with id "${id}"`);
    return request;
  }

  /** Runs the executor for a request this caller moved into `executing`; stores the outcome. */
  async function execute(request: ApprovalRequest, actor: Actor, params: unknown, keepResult: boolean): Promise<unknown> {
    const executor = executors.get(request.operation);
    try {
      if (!executor) throw new Error(`no executor is defined for ${request.operation}`);
      const result = await executor.run(params, actor);
      await approvals.transition(request.id, 'executing', 'done', clock.now(), keepResult ? { result: result ?? null } : {});
      await events.record({ actor: who(actor), action: 'approval.execute', target: eventTarget(request), outcome: 'success' });
      return result;
    } catch (error) {
      await approvals.transition(request.id, 'executing', 'failed', clock.now(), { error: oneLine(error) });
      await events.record({
        actor: who(actor),
        action: 'approval.execute',
        target: eventTarget(request),
        outcome: 'failure',
        detail: oneLine(error),
      });
      throw error;
    }
  }

  const requesterActor = (request: ApprovalRequest): Actor => ({ ...request.requester, permissions: new Set() });

  return {
    /** Registers what runs when an approved `operation` executes. `claim` for secret inputs or results. */
    define(operation: string, run: Executor, options: { claim?: boolean } = {}): void {
      if (!(APPROVAL_OPERATIONS as readonly string[]).includes(operation)) throw new Error(`unknown approval operation ${operation}`);
      executors.set(operation, { run, mode: options.claim ? 'claim' : 'replay' });
    },

    /**
     * Of the groups an operation touches, the one whose approval policy covers it (so an edit that spans
     * groups cannot slip past the stricter one); else the first, else the node-wide scope.
     */
    async pickGroup(groups: readonly string[], operation: string): Promise<string> {
      for (const group of groups) {
        const id = await groupId(group);
        const policy = id === undefined ? undefined : await approvals.getPolicy(id);
        if (policy?.operations.includes(operation)) return group;
      }
      return groups[0] ?? NODE_WIDE;
    },

    /**
     * Runs the operation now, or stores a pending approval request when the group's policy requires one.
     * `approvalId` claims an approved request (claim-mode operations): same requester, operation and params.
     */
    async run(operation: GatedOperation, actor: Actor, approvalId?: string): Promise<GateOutcome> {
      const executor = executors.get(operation.operation);
      if (!executor) throw new Error(`no executor is defined for ${operation.operation}`);
      if (approvalId !== undefined) return { kind: 'done', result: await this.claim(approvalId, operation, actor) };
      const id = await groupId(operation.group);
      const policy = id === undefined ? undefined : await approvals.getPolicy(id);
      if (!policy || !policy.operations.includes(operation.operation)) {
        return { kind: 'done', result: await executor.run(operation.params, actor) };
      }
      const now = clock.now();
      const request: ApprovalRequest = {
        id: newId(),
        operation: operation.operation,
        groupId: id!,
        groupName: operation.group,
        summary: operation.summary,
        params: executor.mode === 'claim' ? { sha256: digest(operation.params) } : operation.params,
        mode: executor.mode,
        requester: who(actor),
        policy,
        status: 'pending',
        createdAt: now,
        expiresAt: now + policy.expiresAfterHours * 3_600_000,
      };
      await approvals.createRequest(request);
      await events.record({
        actor: who(actor),
        action: 'approval.request',
        target: eventTarget(request),
        outcome: 'pending',
        detail: operation.summary,
      });
      return { kind: 'pending', approval: await view(request, []) };
    },

    async claim(approvalId: string, operation: GatedOperation, actor: Actor): Promise<unknown> {
      const request = await requireRequest(approvalId);
      if (request.operation !== operation.operation || request.groupName !== operation.group || request.mode !== 'claim') {
        throw invalid(`approval request ${approvalId} is for ${request.operation} in ${request.groupName}, not this operation`);
      }
      if (request.requester.id !== actor.id)
        throw invalid(`approval request ${approvalId} belongs to ${request.requester.name}; only the requester can use it`);
      if ((request.params as { sha256?: string }).sha256 !== digest(operation.params)) {
        throw invalid(`approval request ${approvalId} was approved for different parameters`);
      }
      if (!(await approvals.transition(request.id, 'approved', 'executing', clock.now()))) {
        throw conflict(`approval request ${approvalId} is ${(await approvals.getRequest(approvalId))!.status}, not approved`);
      }
      return execute(request, actor, operation.params, false);
    },

    async list(status?: ApprovalStatus): Promise<ApprovalView[]> {
      await expireDue();
      return Promise.all((await approvals.listRequests(status)).map((r) => view(r)));
    },

    async show(id: string): Promise<ApprovalView> {
      return view(await requireRequest(id));
    },

    /**
     * Records an approver's decision. One denial rejects the request. The approval that completes the
     * quorum executes it (replay) or marks it approved for the requester to claim.
     */
    async decide(id: string, decision: 'approve' | 'deny', actor: Actor): Promise<ApprovalView> {
      let request = await requireRequest(id);
      const action = `approval.${decision}`;
      const refuse = async (error: ManagementError) => {
        await events.record({ actor: who(actor), action, target: eventTarget(request), outcome: 'denied', detail: error.message });
        return error;
      };
      if (request.status === 'expired') throw await refuse(conflict(`approval request ${id} expired at ${iso(request.expiresAt)}`));
      if (request.status !== 'pending') throw await refuse(conflict(`approval request ${id} is already ${request.status}`));
      if (actor.kind !== 'user') throw await refuse(invalid('only users can approve or deny; log in as a user (keyhold login)'));
      if (actor.id === request.requester.id) throw await refuse(invalid('you cannot approve or deny your own request'));
      const { users, role } = request.policy.approvers;
      const named = users?.includes(actor.name) ?? false;
      const byRole = role !== undefined && (await userRoles(actor.id)).includes(role);
      if (!named && !byRole) throw await refuse(invalid(`${actor.name} is not an approver for ${request.groupName}`));

      const now = clock.now();
      await translateStoreError(() => approvals.addVote(id, { voterId: actor.id, voterName: actor.name, decision, createdAt: now }));
      await events.record({ actor: who(actor), action, target: eventTarget(request), outcome: 'success' });

      // Counted after our vote committed: of approvers racing, the last to commit sees every vote.
      const votes = await approvals.listVotes(id);
      if (decision === 'deny') {
        await approvals.transition(id, 'pending', 'denied', now);
      } else if (
        votes.filter((v) => v.decision === 'approve').length >= request.policy.required &&
        !votes.some((v) => v.decision === 'deny')
      ) {
        if (request.mode === 'claim') {
          await approvals.transition(id, 'pending', 'approved', now);
        } else if (await approvals.transition(id, 'pending', 'executing', now)) {
          try {
            await execute(request, requesterActor(request), request.params, true);
          } catch {
            // Stored on the request as its error; the approval itself succeeded.
          }
        }
      }
      request = (await approvals.getRequest(id))!;
      return view(request, votes);
    },

    async getPolicy(group: string): Promise<ApprovalPolicy | undefined> {
      const id = await groupId(group);
      if (id === undefined) throw notFound(`no group named "${group}"`);
      return approvals.getPolicy(id);
    },

    /** Validates a policy (known operations, existing named approvers, a reachable quorum). */
    async checkPolicy(group: string, policy: ApprovalPolicy): Promise<ApprovalPolicy> {
      if ((await groupId(group)) === undefined) throw notFound(`no group named "${group}"`);
      const unknown = policy.operations.find((op) => !(APPROVAL_OPERATIONS as readonly string[]).includes(op));
      if (unknown !== undefined) throw invalid(`unknown operation "${unknown}"; operations are ${APPROVAL_OPERATIONS.join(', ')}`);
      const users = policy.approvers.users ?? [];
      if (users.length === 0 && policy.approvers.role === undefined) throw invalid('name approvers: users, a role, or both');
      for (const user of users) if (!(await userExists(user))) throw invalid(`no active user named "${user}"`);
      if (!Number.isInteger(policy.required) || policy.required < 1)
        throw invalid('required approvals must be a whole number of at least 1');
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
    },

    /** Sets or (with undefined) removes a group's policy; validate with checkPolicy first. */
    async setPolicy(group: string, policy: ApprovalPolicy | undefined, actor: Actor): Promise<ApprovalPolicy | undefined> {
      const id = await groupId(group);
      if (id === undefined) throw notFound(`no group named "${group}"`);
      const checked = policy === undefined ? undefined : await this.checkPolicy(group, policy);
      if (checked === undefined) {
        if (!(await approvals.deletePolicy(id))) throw notFound(`group "${group}" has no approval policy`);
      } else {
        await approvals.setPolicy(id, checked, clock.now());
      }
      await events.record({
        actor: who(actor),
        action: 'approval-policy.set',
        target: { group, operations: checked?.operations.join(',') ?? '(removed)', required: checked?.required },
        outcome: 'success',
      });
      return checked;
    },
  };
}

export type ApprovalGate = ReturnType<typeof createApprovalGate>;
