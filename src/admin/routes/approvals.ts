import type { FastifyInstance } from 'fastify';
import type { ApprovalPolicy, ApprovalStatus } from '../../approvals/approval-store.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import { APPROVAL_OPERATIONS } from '../../approvals/operations.js';
import { ROLE_NAMES } from '../../access/roles.js';
import { gated } from '../gated.js';
import { routePermission } from '../permissions.js';

const STATUSES: ApprovalStatus[] = ['pending', 'approved', 'executing', 'done', 'failed', 'denied', 'expired'];
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
// A group name, or `*` for the node-wide policy (role changes).
const groupParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^(\\*|[A-Za-z0-9._-]{1,63})$' } },
} as const;
const policyBody = {
  type: 'object',
  required: ['operations', 'approvers', 'required', 'expiresAfterHours'],
  additionalProperties: false,
  properties: {
    operations: { type: 'array', minItems: 1, items: { type: 'string', enum: [...APPROVAL_OPERATIONS] } },
    approvers: {
      type: 'object',
      additionalProperties: false,
      properties: {
        users: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 64 } },
        role: { type: 'string', enum: [...ROLE_NAMES] },
      },
    },
    required: { type: 'integer', minimum: 1, maximum: 64 },
    expiresAfterHours: { type: 'number' },
  },
} as const;

/** Approval requests and per-group approval policies (docs/access.md). */
export async function approvalRoutes(app: FastifyInstance, { gate }: { gate: ApprovalGate }): Promise<void> {
  app.get<{ Querystring: { status?: ApprovalStatus } }>(
    '/approvals',
    {
      config: routePermission('approvals:read'),
      schema: {
        summary: 'List approval requests',
        querystring: { type: 'object', properties: { status: { type: 'string', enum: STATUSES } } },
      },
    },
    async (request) => gate.list(request.query.status),
  );

  app.get<{ Params: { id: string } }>(
    '/approvals/:id',
    { config: routePermission('approvals:read'), schema: { summary: 'Show an approval request', params: idParams } },
    async (request) => gate.show(request.params.id),
  );

  for (const decision of ['approve', 'deny'] as const) {
    app.post<{ Params: { id: string } }>(
      `/approvals/:id/${decision}`,
      {
        config: routePermission('approvals:decide'),
        schema: { summary: `${decision === 'approve' ? 'Approve' : 'Deny'} an approval request`, params: idParams },
      },
      async (request) => gate.decide(request.params.id, decision, request.actor!),
    );
  }

  app.get<{ Params: { name: string } }>(
    '/groups/:name/approval-policy',
    {
      config: routePermission('approvals:read'),
      schema: { summary: "Show a group's approval policy (`*`: node-wide)", params: groupParams },
    },
    async (request) => (await gate.getPolicy(request.params.name)) ?? { group: request.params.name, policy: null },
  );

  app.put<{ Params: { name: string }; Body: ApprovalPolicy }>(
    '/groups/:name/approval-policy',
    {
      config: routePermission('users:manage'),
      schema: {
        summary: "Set a group's approval policy (approval operation approval-policy.change)",
        params: groupParams,
        body: policyBody,
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const policy = await gate.checkPolicy(name, request.body);
      return gated(request, reply, gate, {
        operation: 'approval-policy.change',
        group: name,
        params: { group: name, policy },
        summary: `require ${policy.required} approval(s) in ${name} for ${policy.operations.join(', ')}`,
      });
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/groups/:name/approval-policy',
    {
      config: routePermission('users:manage'),
      schema: { summary: "Remove a group's approval policy (approval operation approval-policy.change)", params: groupParams },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (!(await gate.getPolicy(name))) return reply.code(404).send({ error: `group "${name}" has no approval policy` });
      return gated(request, reply, gate, {
        operation: 'approval-policy.change',
        group: name,
        params: { group: name, policy: null },
        summary: `remove the approval policy of ${name}`,
      });
    },
  );
}
