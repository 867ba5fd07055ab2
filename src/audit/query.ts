import { invalid } from '../core/errors.js';
import type { AuditQuery } from './audit-store.js';

export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

/** Search filters as the admin API and the CLI take them: the store's filters, with times and the page as text. */
export interface AuditSearchParams extends Omit<AuditQuery, 'from' | 'to' | 'after' | 'limit'> {
  /** ISO 8601 time or epoch milliseconds; inclusive. */
  from?: string;
  /** ISO 8601 time or epoch milliseconds; exclusive. */
  to?: string;
  limit?: number;
  cursor?: string;
}

/** An ISO 8601 time or epoch milliseconds. */
export function parseTime(value: string, name: string): number {
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) : Date.parse(trimmed);
  if (!Number.isFinite(ms)) throw invalid(`${name} must be an ISO 8601 time or epoch milliseconds, not "${value}"`);
  return ms;
}

export function encodeCursor(position: { time: number; chain: string; seq: number }): string {
  return Buffer.from(JSON.stringify([position.time, position.chain, position.seq]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { time: number; chain: string; seq: number } {
  try {
    const position: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(position)) {
      const fields: unknown[] = position;
      const [time, chain, seq] = fields;
      if (typeof time === 'number' && typeof chain === 'string' && typeof seq === 'number') return { time, chain, seq };
    }
  } catch {
    // fall through
  }
  throw invalid('cursor is not one this API returned');
}

export function toAuditQuery(params: AuditSearchParams): AuditQuery {
  const limit = params.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw invalid(`limit must be 1-${MAX_PAGE}`);
  const from = params.from === undefined ? undefined : parseTime(params.from, 'from');
  const to = params.to === undefined ? undefined : parseTime(params.to, 'to');
  if (from !== undefined && to !== undefined && from > to) throw invalid('from must not be after to');
  return {
    keyId: params.keyId,
    keystore: params.keystore,
    kmsRequestId: params.kmsRequestId,
    principal: params.principal,
    outcome: params.outcome,
    action: params.action,
    chain: params.chain,
    from,
    to,
    after: params.cursor === undefined ? undefined : decodeCursor(params.cursor),
    limit,
  };
}
