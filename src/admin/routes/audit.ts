import type { FastifyInstance } from 'fastify';
import { notFound } from '../../core/errors.js';
import type { Audit } from '../../audit/audit.js';
import { encodeCursor, MAX_PAGE, toAuditQuery, type AuditSearchParams } from '../../audit/query.js';
import { routePermission } from '../permissions.js';

export type AuditApi = Pick<Audit, 'status' | 'search' | 'latestCheckpoint' | 'verify'>;

const text = { type: 'string', minLength: 1, maxLength: 512 } as const;
const searchQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    keyId: text,
    keystore: text,
    kmsRequestId: text,
    principal: text,
    outcome: { type: 'string', enum: ['success', 'error', 'denied', 'failure', 'pending'] },
    action: text,
    chain: text,
    from: text,
    to: text,
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE },
    cursor: text,
  },
} as const;

/** Audit search, status, the latest signed checkpoint and verification; all need audit:read. */
export async function auditRoutes(app: FastifyInstance, { audit }: { audit: AuditApi }): Promise<void> {
  app.get<{ Querystring: AuditSearchParams }>(
    '/audit/events',
    { config: routePermission('audit:read'), schema: { querystring: searchQuery } },
    async (request) => {
      const query = toAuditQuery(request.query);
      const events = await audit.search(query);
      const last = events[events.length - 1];
      return {
        events,
        nextCursor: events.length === query.limit && last ? encodeCursor({ time: last.time, chain: last.chain, seq: last.seq }) : null,
      };
    },
  );

  app.get('/audit/status', { config: routePermission('audit:read') }, async () => audit.status());

  app.get('/audit/checkpoint', { config: routePermission('audit:read') }, async () => {
    const checkpoint = await audit.latestCheckpoint();
    if (!checkpoint) throw notFound('no signed checkpoint yet');
    return checkpoint;
  });

  app.get('/audit/verify', { config: routePermission('audit:read') }, async () => audit.verify());
}
