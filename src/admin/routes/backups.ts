import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorRef } from '../../access/actor.js';
import type { ApprovalGate } from '../../approvals/gate.js';
import { NODE_WIDE } from '../../approvals/operations.js';
import type { NodeBackups } from '../../backup/node-backups.js';
import type { BackupSnapshot } from '../../backup/service.js';
import { approvalHeader } from '../gated.js';
import { requestActor, routePermission } from '../permissions.js';

export interface BackupRouteOptions {
  backups: NodeBackups;
  gate: ApprovalGate;
}

// The passphrase travels in the body only (never a URL or a header a proxy might log); the audit hook copies
// no body field but IDENTIFYING_BODY_FIELDS, and Fastify logs no bodies.
const BackupBody = Type.Object(
  {
    passphrase: Type.String({ minLength: 1, maxLength: 1024, description: 'the backup passphrase (at least 8 characters)' }),
    withAudit: Type.Optional(Type.Boolean({ description: 'include the whole audit log' })),
  },
  { additionalProperties: false },
);

/**
 * POST /backups: the serving node takes an online snapshot of its database and answers the encrypted backup
 * file (application/octet-stream). Approval operation `backup.create` (node-wide policy `*`, claim mode):
 * under a policy it answers 202 with the approval request, and the requester repeats the request with
 * `X-Keyhold-Approval: <id>` once approved (docs/backup.md#api).
 */
export const backupRoutes: FastifyPluginCallback<BackupRouteOptions> = (instance: FastifyInstance, { backups, gate }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/backups',
    {
      config: routePermission('backup:create'),
      schema: {
        summary: 'Create an encrypted backup of the node, answered as the file (approval operation backup.create, node-wide policy)',
        body: BackupBody,
      },
    },
    async (request, reply) => {
      const actor = requestActor(request);
      const withAudit = request.body.withAudit ?? false;
      const passphrase = Buffer.from(request.body.passphrase, 'utf8');
      // A passphrase the file would refuse is refused before a request waits for approvers.
      backups.checkPassphrase(passphrase);
      const outcome = await gate.run(
        {
          operation: 'backup.create',
          group: NODE_WIDE,
          params: { withAudit },
          summary: `create a backup of the node${withAudit ? ' with the whole audit log' : ''}`,
        },
        actor,
        approvalHeader(request),
      );
      if (outcome.kind === 'pending') return reply.code(202).send({ approval: outcome.approval });
      try {
        const { bytes, manifest } = await backups.seal(outcome.result as BackupSnapshot, passphrase, actorRef(actor));
        const name = `keyhold-${manifest.createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.khb`;
        return reply
          .code(200)
          .header('content-type', 'application/octet-stream')
          .header('content-disposition', `attachment; filename="${name}"`)
          .send(bytes);
      } finally {
        passphrase.fill(0);
      }
    },
  );

  done();
};
