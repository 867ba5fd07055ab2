import type { AuditMode } from '../audit/audit-log.js';
import { DeadlineExceededError, withDeadline } from '../core/deadline.js';
import type { EkmHealth } from '../roots/root-of-trust.js';
import type { DatabaseConnection } from '../storage/connection.js';

export const READINESS_CHECKS = ['unsealed', 'root_of_trust', 'database', 'audit', 'propagation'] as const;
export type ReadinessCheckName = (typeof READINESS_CHECKS)[number];

export interface ReadinessCheck {
  name: ReadinessCheckName;
  ok: boolean;
  /** One line for people; never a secret. */
  detail: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
}

/** Evaluates every check; those in `exclude` are reported but do not count toward `ready`. */
export type ReadinessProbe = (exclude?: ReadonlySet<ReadinessCheckName>) => Promise<Readiness>;

/** What the propagation check reports (the change follower's status, src/fleet/change-follower.ts). */
export interface PropagationFacts {
  mode: 'listen' | 'poll';
  listening: boolean;
  pollMs: number;
  appliedId: number;
  lastLagMs?: number;
}

export interface ReadinessDeps {
  /** The unseal service's view: sealed or not, and a one-line status. */
  seal: () => { sealed: boolean; message: string };
  root: { readonly kind: string; state(): EkmHealth };
  database: Pick<DatabaseConnection, 'ping'>;
  audit: () => { mode: AuditMode; spooled: number; dropped: number };
  /**
   * How this node hears of other nodes' changes (docs/fleet.md#propagation). Reported, never failing: a node
   * whose listener is down still catches up by polling, and taking it out of service would not help.
   */
  propagation?: () => PropagationFacts;
  /** The database must answer a ping (`select 1`) within this long (default 500 ms). */
  databaseTimeoutMs?: number;
}

/**
 * Readiness for orchestrators (`GET /readyz`): can this node answer KMS usefully right now? Unlike
 * liveness it checks dependencies: unsealed, root of trust available, database reachable, and the audit
 * log able to record in its configured mode. Separate from XKS GetHealthStatus, which stays as it is.
 */
export function createReadiness({
  seal,
  root,
  database: connection,
  audit,
  propagation,
  databaseTimeoutMs = 500,
}: ReadinessDeps): ReadinessProbe {
  async function database(): Promise<ReadinessCheck> {
    const started = performance.now();
    try {
      await withDeadline(connection.ping(), databaseTimeoutMs, 'database');
      return { name: 'database', ok: true, detail: `reachable (${Math.round(performance.now() - started)} ms)` };
    } catch (error) {
      if (error instanceof DeadlineExceededError)
        return { name: 'database', ok: false, detail: `no answer within ${databaseTimeoutMs} ms` };
      return { name: 'database', ok: false, detail: `unreachable${errorCode(error)}` };
    }
  }

  function auditCheck(databaseOk: boolean): ReadinessCheck {
    const { mode, spooled, dropped } = audit();
    switch (mode) {
      case 'durable':
        return {
          name: 'audit',
          ok: true,
          detail:
            spooled > 0
              ? `durable: ${spooled} events spooled locally until the database returns`
              : 'durable: events are committed before each answer',
        };
      case 'fail-closed':
        return {
          name: 'audit',
          ok: databaseOk,
          detail: databaseOk
            ? 'fail-closed: events are committed before each answer'
            : 'fail-closed: the database is unreachable, so every request would fail',
        };
      case 'lossy':
        return { name: 'audit', ok: true, detail: `lossy: requests never wait for the audit log (${dropped} events dropped so far)` };
    }
  }

  return async function readiness(exclude: ReadonlySet<ReadinessCheckName> = new Set()): Promise<Readiness> {
    const { sealed, message } = seal();
    const rootState = root.state();
    const db = await database();
    const checks: ReadinessCheck[] = [
      { name: 'unsealed', ok: !sealed, detail: message },
      { name: 'root_of_trust', ok: rootState !== 'UNAVAILABLE', detail: `${root.kind}: ${rootState}` },
      db,
      auditCheck(db.ok),
    ];
    if (propagation) checks.push(propagationCheck(propagation()));
    const counted = checks.filter((check) => !exclude.has(check.name));
    return { ready: counted.every((check) => check.ok), checks };
  };
}

function propagationCheck(status: PropagationFacts): ReadinessCheck {
  const applied = `change ${status.appliedId} applied${status.lastLagMs === undefined ? '' : ` (last lag ${status.lastLagMs} ms)`}`;
  const detail =
    status.mode === 'poll'
      ? `polling the change sequence every ${status.pollMs} ms; ${applied}`
      : status.listening
        ? `listening for fleet changes; ${applied}`
        : `listener down: polling the change sequence every ${status.pollMs} ms until it is back; ${applied}`;
  return { name: 'propagation', ok: true, detail };
}

/** A driver's error code (e.g. ECONNREFUSED, or SQLSTATE 57P03), never its message, which may name more than it should. */
function errorCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code) ? ` (${code})` : '';
}
