import { createHash } from 'node:crypto';
import { actorRef, type Actor } from '../access/actor.js';
import { discardAdminEvents, type AdminEventSink } from '../audit/admin-events.js';
import type { Clock } from '../core/clock.js';
import { conflict, invalid, type ManagementError, notFound } from '../core/errors.js';
import { translateStoreError } from '../storage/translate-error.js';
import { checkApprovalPolicy } from './approval-policy.js';
import type { ApprovalMode, ApprovalRequest, ApprovalStore, ApprovalVote } from './approval-store.js';
import { approvalView } from './approval-view.js';
import { MAX_VOTE_COMMENT, type ApprovalGate, type Executor, type GatedOperation } from './gate.js';
import { NODE_WIDE } from './operations.js';

/** Finds a group's id by its name (the keystores feature's groups). */
export interface GroupLookup {
  getGroupByName(name: string): Promise<{ id: string } | undefined>;
}

export interface ApprovalGateDeps {
  /** Policies, requests and votes (createApprovalStore over the node's database). */
  store: ApprovalStore;
  groups: GroupLookup;
  clock: Clock;
  newId: () => string;
  /** The roles a user holds now (to check role-based approvers). */
  userRoles: (userId: string) => Promise<readonly string[]>;
  /** Whether a user exists and is active (to check named approvers in a policy). */
  userExists: (name: string) => Promise<boolean>;
  events?: AdminEventSink;
}

const digest = (params: unknown) =>
  createHash('sha256')
    .update(JSON.stringify(params ?? null))
    .digest('hex');
const iso = (ms: number) => new Date(ms).toISOString();
const oneLine = (error: unknown) => ((error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '').slice(0, 500);
const eventTarget = (r: ApprovalRequest) => ({ approval: r.id, operation: r.operation, group: r.groupName });
const SYSTEM = { kind: 'system', id: 'system', name: 'system' } as const;

// Text people read in the approvals view and the CLI: line feeds and tabs, but no other control characters.
const COMMENT_TEXT = /^[^\p{Cc}]*$/u;

/** A vote's comment, checked: undefined when none or blank; refused (one line) when too long or not text. */
function checkComment(comment: string | undefined): string | undefined {
  if (comment === undefined || comment.trim() === '') return undefined;
  if ([...comment].length > MAX_VOTE_COMMENT || !COMMENT_TEXT.test(comment.replace(/[\n\t]/g, ' '))) {
    throw invalid(`comment must be at most ${MAX_VOTE_COMMENT} characters of text (line feeds and tabs allowed)`);
  }
  return comment.trim();
}

/** The approval gate (gate.ts) over its store. */
export function createApprovalGate({
  store,
  groups,
  clock,
  newId,
  userRoles,
  userExists,
  events = discardAdminEvents,
}: ApprovalGateDeps): ApprovalGate {
  const executors = new Map<string, { run: Executor<unknown>; mode: ApprovalMode }>();

  async function groupId(group: string): Promise<string | undefined> {
    if (group === NODE_WIDE) return NODE_WIDE;
    return (await groups.getGroupByName(group))?.id;
  }

  async function requireGroupId(group: string): Promise<string> {
    const id = await groupId(group);
    if (id === undefined) throw notFound(`no group named "${group}"`);
    return id;
  }

  function executorFor(operation: string) {
    const executor = executors.get(operation);
    if (!executor) throw new Error(`no executor is defined for ${operation}`);
    return executor;
  }

  async function view(request: ApprovalRequest, votes?: ApprovalVote[]) {
    return approvalView(request, votes ?? (await store.listVotes(request.id)));
  }

  /** Marks pending requests past their expiry as expired (and audits each, once). */
  async function expireDue(): Promise<void> {
    const now = clock.now();
    for (const request of await store.listDue(now)) {
      if (await store.transition(request.id, 'pending', 'expired', now)) {
        await events.record({
          actor: SYSTEM,
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
    const request = await store.getRequest(id);
    if (!request) throw notFound(`no approval request with id "${id}"`);
    return request;
  }

  /** Runs the executor for a request this caller moved into `executing`; stores the outcome. */
  async function execute(request: ApprovalRequest, actor: Actor, params: unknown, keepResult: boolean): Promise<unknown> {
    try {
      const result = await executorFor(request.operation).run(params, actor);
      await store.transition(request.id, 'executing', 'done', clock.now(), keepResult ? { result: result ?? null } : {});
      await events.record({ actor: actorRef(actor), action: 'approval.execute', target: eventTarget(request), outcome: 'success' });
      return result;
    } catch (error) {
      await store.transition(request.id, 'executing', 'failed', clock.now(), { error: oneLine(error) });
      await events.record({
        actor: actorRef(actor),
        action: 'approval.execute',
        target: eventTarget(request),
        outcome: 'failure',
        detail: oneLine(error),
      });
      throw error;
    }
  }

  /** The requester, as a replayed operation runs: their identity, no permissions of their own (checked when requested). */
  const requesterActor = (request: ApprovalRequest): Actor => ({ ...request.requester, permissions: new Set() });

  async function claim(approvalId: string, operation: GatedOperation, actor: Actor): Promise<unknown> {
    const request = await requireRequest(approvalId);
    if (request.operation !== operation.operation || request.groupName !== operation.group || request.mode !== 'claim') {
      throw invalid(`approval request ${approvalId} is for ${request.operation} in ${request.groupName}, not this operation`);
    }
    if (request.requester.id !== actor.id)
      throw invalid(`approval request ${approvalId} belongs to ${request.requester.name}; only the requester can use it`);
    if (!isDigestOf(request.params, operation.params))
      throw invalid(`approval request ${approvalId} was approved for different parameters`);
    if (!(await store.transition(request.id, 'approved', 'executing', clock.now()))) {
      const now = await store.getRequest(approvalId);
      throw conflict(`approval request ${approvalId} is ${now?.status ?? 'gone'}, not approved`);
    }
    return execute(request, actor, operation.params, false);
  }

  const checkPolicy: ApprovalGate['checkPolicy'] = async (group, policy) => {
    await requireGroupId(group);
    return checkApprovalPolicy(policy, userExists);
  };

  return {
    define(operation, run, options = {}) {
      // The gate hands each executor the params its operation's route built (see GatedOperation.params).
      executors.set(operation, { run: run as Executor<unknown>, mode: options.claim ? 'claim' : 'replay' });
    },

    async pickGroup(groupNames, operation) {
      for (const group of groupNames) {
        const id = await groupId(group);
        const policy = id === undefined ? undefined : await store.getPolicy(id);
        if (policy?.operations.includes(operation)) return group;
      }
      return groupNames[0] ?? NODE_WIDE;
    },

    async run(operation, actor, approvalId) {
      const executor = executorFor(operation.operation);
      if (approvalId !== undefined) return { kind: 'done', result: await claim(approvalId, operation, actor) };
      const id = await groupId(operation.group);
      const policy = id === undefined ? undefined : await store.getPolicy(id);
      if (id === undefined || !policy?.operations.includes(operation.operation)) {
        return { kind: 'done', result: await executor.run(operation.params, actor) };
      }
      const now = clock.now();
      const request: ApprovalRequest = {
        id: newId(),
        operation: operation.operation,
        groupId: id,
        groupName: operation.group,
        summary: operation.summary,
        params: executor.mode === 'claim' ? { sha256: digest(operation.params) } : operation.params,
        mode: executor.mode,
        requester: actorRef(actor),
        policy,
        status: 'pending',
        createdAt: now,
        expiresAt: now + policy.expiresAfterHours * 3_600_000,
      };
      await store.createRequest(request);
      await events.record({
        actor: actorRef(actor),
        action: 'approval.request',
        target: eventTarget(request),
        outcome: 'pending',
        detail: operation.summary,
      });
      return { kind: 'pending', approval: await view(request, []) };
    },

    async list(status) {
      await expireDue();
      return Promise.all((await store.listRequests(status)).map((r) => view(r)));
    },

    async show(id) {
      return view(await requireRequest(id));
    },

    async decide(id, decision, actor, rawComment) {
      const comment = checkComment(rawComment);
      const request = await requireRequest(id);
      const action = `approval.${decision}`;
      const refuse = async (error: ManagementError) => {
        await events.record({ actor: actorRef(actor), action, target: eventTarget(request), outcome: 'denied', detail: error.message });
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
      await translateStoreError(() =>
        store.addVote(id, {
          voterId: actor.id,
          voterName: actor.name,
          decision,
          createdAt: now,
          ...(comment === undefined ? {} : { comment }),
        }),
      );
      await events.record({ actor: actorRef(actor), action, target: eventTarget(request), outcome: 'success' });

      // Counted after our vote committed: of approvers racing, the last to commit sees every vote.
      const votes = await store.listVotes(id);
      if (decision === 'deny') {
        await store.transition(id, 'pending', 'denied', now);
      } else if (
        votes.filter((v) => v.decision === 'approve').length >= request.policy.required &&
        !votes.some((v) => v.decision === 'deny')
      ) {
        if (request.mode === 'claim') {
          await store.transition(id, 'pending', 'approved', now);
        } else if (await store.transition(id, 'pending', 'executing', now)) {
          try {
            await execute(request, requesterActor(request), request.params, true);
          } catch {
            // Stored on the request as its error; the approval itself succeeded.
          }
        }
      }
      return view((await store.getRequest(id)) ?? request, votes);
    },

    async getPolicy(group) {
      return store.getPolicy(await requireGroupId(group));
    },

    checkPolicy,

    async setPolicy(group, policy, actor) {
      const id = await requireGroupId(group);
      const checked = policy === undefined ? undefined : await checkPolicy(group, policy);
      if (checked === undefined) {
        if (!(await store.deletePolicy(id))) throw notFound(`group "${group}" has no approval policy`);
      } else {
        await store.setPolicy(id, checked, clock.now());
      }
      await events.record({
        actor: actorRef(actor),
        action: 'approval-policy.set',
        target: { group, operations: checked?.operations.join(',') ?? '(removed)', required: checked?.required },
        outcome: 'success',
      });
      return checked;
    },
  };
}

/** Whether a claim-mode request's stored params (`{ sha256 }`) are the digest of `params`. */
function isDigestOf(stored: unknown, params: unknown): boolean {
  return typeof stored === 'object' && stored !== null && 'sha256' in stored && stored.sha256 === digest(params);
}
