import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApprovalGate, GatedOperation } from '../approvals/gate.js';
import { requestActor } from './permissions.js';

/** The header with which a requester claims an approved request for a claim-mode operation. */
export const APPROVAL_HEADER = 'x-keyhold-approval';

/**
 * Runs a route's operation through the approval gate: answers `status` with the result when it ran,
 * or 202 `{ approval }` when the group's policy made it wait for approvers.
 */
export async function gated(request: FastifyRequest, reply: FastifyReply, gate: ApprovalGate, operation: GatedOperation, status = 200) {
  const outcome = await gate.run(operation, requestActor(request), approvalHeader(request));
  if (outcome.kind === 'pending') return reply.code(202).send({ approval: outcome.approval });
  if (outcome.result === undefined) return reply.code(204).send();
  return reply.code(status).send(outcome.result);
}

/** The approval id a requester sent to claim an approved request, if any. */
export function approvalHeader(request: FastifyRequest): string | undefined {
  const header = request.headers[APPROVAL_HEADER];
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined;
}
