import type { Kysely } from 'kysely';
import { constraintViolation } from '../storage/db-errors.js';
import { StoreConflictError, type Store } from '../storage/store.js';

type PolicyRow = { group_id: string; policy: string; updated_at: number };

type RequestRow = {
  id: string;
  operation: string;
  group_id: string;
  group_name: string;
  summary: string;
  params: string;
  mode: string;
  requester_kind: string;
  requester_id: string;
  requester_name: string;
  policy: string;
  status: string;
  created_at: number;
  expires_at: number;
  finished_at: number | null;
  result: string | null;
  error: string | null;
};

type VoteRow = { request_id: string; voter_id: string; voter_name: string; decision: string; created_at: number };

export type ApprovalTables = {
  approval_policies: PolicyRow;
  approval_requests: RequestRow;
  approval_votes: VoteRow;
};

export interface ApprovalPolicy {
  operations: string[];
  approvers: { users?: string[]; role?: string };
  required: number;
  expiresAfterHours: number;
}

/**
 * pending → executing → done | failed (replayed by the final approval), or pending → approved →
 * executing → done | failed (claimed by the requester, for operations whose input or result is secret);
 * pending → denied | expired.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'executing' | 'done' | 'failed' | 'denied' | 'expired';
export type ApprovalMode = 'replay' | 'claim';

export interface ApprovalRequest {
  id: string;
  operation: string;
  groupId: string;
  groupName: string;
  summary: string;
  params: unknown;
  mode: ApprovalMode;
  requester: { kind: 'user' | 'token'; id: string; name: string };
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
  decision: 'approve' | 'deny';
  createdAt: number;
}

const toRequest = (r: RequestRow): ApprovalRequest => ({
  id: r.id,
  operation: r.operation,
  groupId: r.group_id,
  groupName: r.group_name,
  summary: r.summary,
  params: JSON.parse(r.params),
  mode: r.mode as ApprovalMode,
  requester: { kind: r.requester_kind as 'user' | 'token', id: r.requester_id, name: r.requester_name },
  policy: JSON.parse(r.policy) as ApprovalPolicy,
  status: r.status as ApprovalStatus,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  finishedAt: r.finished_at === null ? undefined : Number(r.finished_at),
  result: r.result === null ? undefined : JSON.parse(r.result),
  error: r.error ?? undefined,
});

/** Approval policies, requests and votes in the node's database (SQLite or PostgreSQL). */
export function createApprovalStore(store: Store) {
  const db = store.db.withTables<ApprovalTables>() as unknown as Kysely<ApprovalTables>;

  return {
    async getPolicy(groupId: string): Promise<ApprovalPolicy | undefined> {
      const row = await db.selectFrom('approval_policies').selectAll().where('group_id', '=', groupId).executeTakeFirst();
      return row && (JSON.parse(row.policy) as ApprovalPolicy);
    },

    async setPolicy(groupId: string, policy: ApprovalPolicy, at: number): Promise<void> {
      const text = JSON.stringify(policy);
      await db
        .insertInto('approval_policies')
        .values({ group_id: groupId, policy: text, updated_at: at })
        .onConflict((oc) => oc.column('group_id').doUpdateSet({ policy: text, updated_at: at }))
        .execute();
    },

    async deletePolicy(groupId: string): Promise<boolean> {
      const result = await db.deleteFrom('approval_policies').where('group_id', '=', groupId).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async createRequest(request: ApprovalRequest): Promise<void> {
      await db
        .insertInto('approval_requests')
        .values({
          id: request.id,
          operation: request.operation,
          group_id: request.groupId,
          group_name: request.groupName,
          summary: request.summary,
          params: JSON.stringify(request.params),
          mode: request.mode,
          requester_kind: request.requester.kind,
          requester_id: request.requester.id,
          requester_name: request.requester.name,
          policy: JSON.stringify(request.policy),
          status: request.status,
          created_at: request.createdAt,
          expires_at: request.expiresAt,
          finished_at: null,
          result: null,
          error: null,
        })
        .execute();
    },

    async getRequest(id: string): Promise<ApprovalRequest | undefined> {
      const row = await db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRequest(row);
    },

    async listRequests(status?: ApprovalStatus): Promise<ApprovalRequest[]> {
      let query = db.selectFrom('approval_requests').selectAll();
      if (status !== undefined) query = query.where('status', '=', status);
      return (await query.orderBy('created_at').orderBy('id').execute()).map(toRequest);
    },

    /** Pending requests whose expiry has passed. */
    async listDue(now: number): Promise<ApprovalRequest[]> {
      const rows = await db
        .selectFrom('approval_requests')
        .selectAll()
        .where('status', '=', 'pending')
        .where('expires_at', '<=', now)
        .execute();
      return rows.map(toRequest);
    },

    /**
     * Moves a request from one status to another only if it is still in `from`: one statement, so of
     * several nodes or callers racing, exactly one sees true.
     */
    async transition(
      id: string,
      from: ApprovalStatus,
      to: ApprovalStatus,
      at: number,
      outcome: { result?: unknown; error?: string } = {},
    ): Promise<boolean> {
      const final = to === 'done' || to === 'failed' || to === 'denied' || to === 'expired';
      const result = await db
        .updateTable('approval_requests')
        .set({
          status: to,
          ...(final ? { finished_at: at } : {}),
          ...(outcome.result === undefined ? {} : { result: JSON.stringify(outcome.result) }),
          ...(outcome.error === undefined ? {} : { error: outcome.error }),
        })
        .where('id', '=', id)
        .where('status', '=', from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async addVote(requestId: string, vote: ApprovalVote): Promise<void> {
      try {
        await db
          .insertInto('approval_votes')
          .values({
            request_id: requestId,
            voter_id: vote.voterId,
            voter_name: vote.voterName,
            decision: vote.decision,
            created_at: vote.createdAt,
          })
          .execute();
      } catch (error) {
        if (constraintViolation(error)?.kind === 'unique') throw new StoreConflictError('you have already decided on this request');
        throw error;
      }
    },

    async listVotes(requestId: string): Promise<ApprovalVote[]> {
      const rows = await db
        .selectFrom('approval_votes')
        .selectAll()
        .where('request_id', '=', requestId)
        .orderBy('created_at')
        .orderBy('voter_name')
        .execute();
      return rows.map((r) => ({
        voterId: r.voter_id,
        voterName: r.voter_name,
        decision: r.decision as 'approve' | 'deny',
        createdAt: Number(r.created_at),
      }));
    },
  };
}

export type ApprovalStore = ReturnType<typeof createApprovalStore>;
