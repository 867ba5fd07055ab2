import type { DatabaseConnection } from '../storage/connection.js';
import { refusedBy } from '../storage/db-errors.js';
import type { ActorRef } from '../access/actor.js';
import type {
  ApprovalMode,
  ApprovalPolicy,
  ApprovalRequest,
  ApprovalStatus,
  ApprovalStore,
  ApprovalVote,
  Decision,
} from './approval-store.js';

/** The approval tables (migration 0005_access; votes' comment: 0009). Enumerated columns hold only what this store wrote. */
interface ApprovalTables {
  approval_policies: PolicyRow;
  approval_requests: RequestRow;
  approval_votes: VoteRow;
}

interface PolicyRow {
  group_id: string;
  /** ApprovalPolicy as JSON. */
  policy: string;
  updated_at: number;
}

interface RequestRow {
  id: string;
  operation: string;
  group_id: string;
  group_name: string;
  summary: string;
  /** JSON. */
  params: string;
  mode: ApprovalMode;
  requester_kind: ActorRef['kind'];
  requester_id: string;
  requester_name: string;
  /** ApprovalPolicy as JSON. */
  policy: string;
  status: ApprovalStatus;
  created_at: number;
  expires_at: number;
  finished_at: number | null;
  /** JSON. */
  result: string | null;
  error: string | null;
}

interface VoteRow {
  request_id: string;
  voter_id: string;
  voter_name: string;
  decision: Decision;
  created_at: number;
  comment: string | null;
}

// Policies are checked (ApprovalGate.checkPolicy) before they are written, and only this store writes them.
const parsePolicy = (text: string) => JSON.parse(text) as ApprovalPolicy;

const toRequest = (r: RequestRow): ApprovalRequest => ({
  id: r.id,
  operation: r.operation,
  groupId: r.group_id,
  groupName: r.group_name,
  summary: r.summary,
  params: JSON.parse(r.params),
  mode: r.mode,
  requester: { kind: r.requester_kind, id: r.requester_id, name: r.requester_name },
  policy: parsePolicy(r.policy),
  status: r.status,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  finishedAt: r.finished_at === null ? undefined : Number(r.finished_at),
  result: r.result === null ? undefined : JSON.parse(r.result),
  error: r.error ?? undefined,
});

const requestRow = (request: ApprovalRequest): RequestRow => ({
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
});

const toVote = (r: VoteRow): ApprovalVote => ({
  voterId: r.voter_id,
  voterName: r.voter_name,
  decision: r.decision,
  createdAt: Number(r.created_at),
  ...(r.comment === null ? {} : { comment: r.comment }),
});

const FINAL: ReadonlySet<ApprovalStatus> = new Set(['done', 'failed', 'denied', 'expired']);

/** The approval store on the node's database. */
export function createApprovalStore(connection: DatabaseConnection): ApprovalStore {
  const db = connection.tables<ApprovalTables>();

  return {
    async getPolicy(groupId) {
      const row = await db.selectFrom('approval_policies').selectAll().where('group_id', '=', groupId).executeTakeFirst();
      return row && parsePolicy(row.policy);
    },

    async setPolicy(groupId, policy, at) {
      const text = JSON.stringify(policy);
      await db
        .insertInto('approval_policies')
        .values({ group_id: groupId, policy: text, updated_at: at })
        .onConflict((oc) => oc.column('group_id').doUpdateSet({ policy: text, updated_at: at }))
        .execute();
    },

    async deletePolicy(groupId) {
      const result = await db.deleteFrom('approval_policies').where('group_id', '=', groupId).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async createRequest(request) {
      await db.insertInto('approval_requests').values(requestRow(request)).execute();
    },

    async getRequest(id) {
      const row = await db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRequest(row);
    },

    async listRequests(status) {
      let query = db.selectFrom('approval_requests').selectAll();
      if (status !== undefined) query = query.where('status', '=', status);
      return (await query.orderBy('created_at').orderBy('id').execute()).map(toRequest);
    },

    async listDue(now) {
      const rows = await db
        .selectFrom('approval_requests')
        .selectAll()
        .where('status', '=', 'pending')
        .where('expires_at', '<=', now)
        .execute();
      return rows.map(toRequest);
    },

    async transition(id, from, to, at, outcome = {}) {
      const result = await db
        .updateTable('approval_requests')
        .set({
          status: to,
          ...(FINAL.has(to) ? { finished_at: at } : {}),
          ...(outcome.result === undefined ? {} : { result: JSON.stringify(outcome.result) }),
          ...(outcome.error === undefined ? {} : { error: outcome.error }),
        })
        .where('id', '=', id)
        .where('status', '=', from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async addVote(requestId, vote) {
      const row = {
        request_id: requestId,
        voter_id: vote.voterId,
        voter_name: vote.voterName,
        decision: vote.decision,
        created_at: vote.createdAt,
        comment: vote.comment ?? null,
      };
      await refusedBy('unique', 'you have already decided on this request', () => db.insertInto('approval_votes').values(row).execute());
    },

    async listVotes(requestId) {
      const rows = await db
        .selectFrom('approval_votes')
        .selectAll()
        .where('request_id', '=', requestId)
        .orderBy('created_at')
        .orderBy('voter_name')
        .execute();
      return rows.map(toVote);
    },
  };
}
