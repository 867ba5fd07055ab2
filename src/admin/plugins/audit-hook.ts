import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminEventSink } from '../../audit/admin-events.js';

/** GET routes whose answer reveals a secret, so reading them is audited like a change. */
const isSecretRead = (routeUrl: string | undefined) => routeUrl !== undefined && routeUrl.endsWith('/kms-json');

/**
 * Body fields that name what a request acts on and are never secret; only these are copied from a
 * body (as short scalars), so a new secret-bearing field can never leak into the log by default.
 */
const IDENTIFYING_BODY_FIELDS = [
  'id',
  'keystore',
  'name',
  'prefix',
  'region',
  'group',
  'usage',
  'accessKeyId',
  'version',
  'rps',
  'burst',
] as const;

/** The own fields of a parsed params, query or body object (none for anything else). */
const fieldsOf = (value: unknown): [string, unknown][] => (typeof value === 'object' && value !== null ? Object.entries(value) : []);

/** The `error` of an error answer's JSON, if it is one. */
function errorLine(payload: string): string | undefined {
  try {
    const body: unknown = JSON.parse(payload);
    return typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string' ? body.error : undefined;
  } catch {
    return undefined;
  }
}

/** Query parameters never copied into the audit target. */
const SENSITIVE = /token|secret|password|key-?material|plaintext/i;

/**
 * Records every mutating admin request (and reads that reveal secrets) as an admin audit event:
 * method, route pattern, path and query parameters, identifying body fields (IDENTIFYING_BODY_FIELDS),
 * status, actor, latency. Never the rest of a body, which may hold secrets, tokens or key material. Runs before the response is sent, so an answered change is
 * already in the log.
 */
export function recordAdminRequests(app: FastifyInstance, sink: AdminEventSink): void {
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const routeUrl = request.routeOptions.url;
    const mutating = request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS';
    if (!mutating && !isSecretRead(routeUrl)) return payload;
    const status = reply.statusCode;
    const target: Record<string, string> = {};
    for (const [name, value] of fieldsOf(request.params)) target[name] = String(value);
    for (const [name, value] of fieldsOf(request.query)) {
      if (!SENSITIVE.test(name) && target[name] === undefined) target[name] = String(value);
    }
    const body = request.body;
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const fields = new Map(fieldsOf(body));
      for (const name of IDENTIFYING_BODY_FIELDS) {
        const value = fields.get(name);
        const scalar = Array.isArray(value) && value.every((v) => typeof v === 'string') ? value.join(',') : value;
        if ((typeof scalar === 'string' || typeof scalar === 'number' || typeof scalar === 'boolean') && target[name] === undefined) {
          target[name] = String(scalar).slice(0, 200);
        }
      }
    }
    const detail = status >= 400 && typeof payload === 'string' && payload.length < 1000 ? errorLine(payload) : undefined;
    const actor = request.actor ?? { kind: 'token' as const, id: '-', name: 'unauthenticated' };
    try {
      await sink.record({
        actor: { kind: actor.kind, id: actor.id, name: actor.name },
        action: `${request.method} ${routeUrl ?? request.url.split('?')[0]}`,
        target,
        outcome: status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'failure',
        detail,
        status,
        latencyMs: reply.elapsedTime,
      });
    } catch (error) {
      request.log.error({ event: 'audit.admin_record_failed', err: error }, 'could not record an admin request in the audit log');
    }
    return payload;
  });
}
