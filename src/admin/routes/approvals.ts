import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ROLE_NAMES } from '../../access/roles.js';
import { APPROVAL_STATUSES } from '../../approvals/approval-store.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import { APPROVAL_OPERATIONS } from '../../approvals/operations.js';
import { MAX_VOTE_COMMENT } from '../../approvals/gate.js';
import { gated } from '../gated.js';
import { requestActor, routePermission } from '../permissions.js';

/** What the approval routes are built with. */
export interface ApprovalRouteOptions {
  gate: ApprovalGate;
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
// A group name, or `*` for the node-wide policy (role changes).
const GroupParams = Type.Object({ name: Type.String({ pattern: '^(\\*|[A-Za-z0-9._-]{1,63})$' }) });
const ListQuery = Type.Object({ status: Type.Optional(Type.Enum([...APPROVAL_STATUSES], { type: 'string' })) });
// Optional: a POST without a body decides without a comment, as before comments existed (see preValidation).
const DecisionBody = Type.Object(
  { comment: Type.Optional(Type.String({ maxLength: MAX_VOTE_COMMENT, description: 'shown with the vote in the approval view' })) },
  { additionalProperties: false },
);
const PolicyBody = Type.Object(
  {
    operations: Type.Array(Type.Enum([...APPROVAL_OPERATIONS], { type: 'string' }), { minItems: 1 }),
    approvers: Type.Object(
      {
        users: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 })),
        role: Type.Optional(Type.Enum([...ROLE_NAMES], { type: 'string' })),
      },
      { additionalProperties: false },
    ),
    required: Type.Integer({ minimum: 1, maximum: 64 }),
    expiresAfterHours: Type.Number(),
  },
  { additionalProperties: false },
);

/** Approval requests and per-group approval policies (docs/access.md). */
export const approvalRoutes: FastifyPluginCallback<ApprovalRouteOptions> = (instance: FastifyInstance, { gate }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/approvals',
    { config: routePermission('approvals:read'), schema: { summary: 'List approval requests', querystring: ListQuery } },
    (request) => gate.list(request.query.status),
  );

  app.get(
    '/approvals/:id',
    { config: routePermission('approvals:read'), schema: { summary: 'Show an approval request', params: IdParams } },
    (request) => gate.show(request.params.id),
  );

  for (const decision of ['approve', 'deny'] as const) {
    app.post(
      `/approvals/:id/${decision}`,
      {
        config: routePermission('approvals:decide'),
        schema: {
          summary: `${decision === 'approve' ? 'Approve' : 'Deny'} an approval request, optionally with a comment`,
          params: IdParams,
          body: DecisionBody,
        },
        // No body at all (the CLI without --comment, older clients) is an empty one.
        preValidation: (request, _reply, done) => {
          // Typed as the validated body, which it is not yet: undefined when nothing was sent.
          const sent: unknown = request.body;
          if (sent === undefined) request.body = {};
          done();
        },
      },
      (request) => gate.decide(request.params.id, decision, requestActor(request), request.body.comment),
    );
  }

  app.get(
    '/groups/:name/approval-policy',
    {
      config: routePermission('approvals:read'),
      schema: { summary: "Show a group's approval policy (`*`: node-wide)", params: GroupParams },
    },
    async (request) => (await gate.getPolicy(request.params.name)) ?? { group: request.params.name, policy: null },
  );

  app.put(
    '/groups/:name/approval-policy',
    {
      config: routePermission('users:manage'),
      schema: {
        summary: "Set a group's approval policy (approval operation approval-policy.change)",
        params: GroupParams,
        body: PolicyBody,
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

  app.delete(
    '/groups/:name/approval-policy',
    {
      config: routePermission('users:manage'),
      schema: { summary: "Remove a group's approval policy (approval operation approval-policy.change)", params: GroupParams },
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

  done();
};
