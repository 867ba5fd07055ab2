import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notFound } from '../../core/errors.js';
import type { Audit } from '../../audit/audit.js';
import { encodeCursor, MAX_PAGE, toAuditQuery, type AuditSearchParams } from '../../audit/query.js';
import { routePermission } from '../permissions.js';

export type AuditApi = Pick<Audit, 'status' | 'search' | 'latestCheckpoint' | 'verify'>;

/** What the audit routes are built with. */
export interface AuditRouteOptions {
  audit: AuditApi;
}

const Text = Type.String({ minLength: 1, maxLength: 512 });
const SearchQuery = Type.Object(
  {
    keyId: Type.Optional(Text),
    keystore: Type.Optional(Text),
    kmsRequestId: Type.Optional(Text),
    principal: Type.Optional(Text),
    outcome: Type.Optional(Type.Enum(['success', 'error', 'denied', 'failure', 'pending'], { type: 'string' })),
    action: Type.Optional(Text),
    chain: Type.Optional(Text),
    from: Type.Optional(Text),
    to: Type.Optional(Text),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE })),
    cursor: Type.Optional(Text),
  },
  { additionalProperties: false },
);

/** Audit search, status, the latest signed checkpoint and verification; all need audit:read. */
export const auditRoutes: FastifyPluginCallback<AuditRouteOptions> = (instance: FastifyInstance, { audit }, done) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/audit/events', { config: routePermission('audit:read'), schema: { querystring: SearchQuery } }, async (request) => {
    const query = toAuditQuery(request.query);
    const events = await audit.search(query);
    const last = events[events.length - 1];
    return {
      events,
      nextCursor: events.length === query.limit && last ? encodeCursor({ time: last.time, chain: last.chain, seq: last.seq }) : null,
    };
  });

  // Every matching event, oldest first, one JSON object a line (the console's "export"; `jq`-friendly),
  // read a page of MAX_PAGE at a time so an export of any size holds one page in memory.
  app.get(
    '/audit/export',
    {
      config: routePermission('audit:read'),
      schema: {
        summary: 'Every audit event matching the search filters, as JSON lines (application/x-ndjson)',
        querystring: Type.Omit(SearchQuery, ['limit', 'cursor'], { additionalProperties: false }),
        produces: ['application/x-ndjson'],
      },
    },
    async (request, reply) => {
      const filters: AuditSearchParams = { ...request.query, limit: MAX_PAGE };
      const first = toAuditQuery(filters); // refuses bad filters with a 400 before anything is sent
      async function* lines() {
        let query = first;
        for (;;) {
          const events = await audit.search(query);
          for (const event of events) yield `${JSON.stringify(event)}\n`;
          const last = events[events.length - 1];
          if (events.length < query.limit || !last) return;
          query = toAuditQuery({ ...filters, cursor: encodeCursor({ time: last.time, chain: last.chain, seq: last.seq }) });
        }
      }
      return reply
        .type('application/x-ndjson')
        .header('content-disposition', 'attachment; filename="keyhold-audit.jsonl"')
        .header('cache-control', 'no-store')
        .send(Readable.from(lines()));
    },
  );

  app.get('/audit/status', { config: routePermission('audit:read') }, () => audit.status());

  app.get('/audit/checkpoint', { config: routePermission('audit:read') }, async () => {
    const checkpoint = await audit.latestCheckpoint();
    if (!checkpoint) throw notFound('no signed checkpoint yet');
    return checkpoint;
  });

  app.get('/audit/verify', { config: routePermission('audit:read') }, () => audit.verify());

  done();
};
