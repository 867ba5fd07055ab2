import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_SPOOL_FILE, workerAuditSpoolFile } from '../../core/data-dir.js';

const SPOOL = /^audit-spool(?:-w(\d+))?\.jsonl$/;

/**
 * Audit spools (events waiting for the database) that no process of a run with `workers` workers would
 * replay: each chain replays only its own spool, and a worker's chain differs from a single process's.
 * Returns a one-line reason to refuse the start, or undefined.
 */
export function strandedSpoolProblem(dataDir: string, workers: number): string | undefined {
  const mine = new Set(workers > 1 ? Array.from({ length: workers }, (_, i) => workerAuditSpoolFile(i + 1)) : [AUDIT_SPOOL_FILE]);
  const stranded = readdirSync(dataDir).filter((name) => SPOOL.test(name) && !mine.has(name) && statSync(join(dataDir, name)).size > 0);
  if (stranded.length === 0) return undefined;
  const needed = Math.max(...stranded.map((name) => Number(SPOOL.exec(name)?.[1] ?? 1)));
  const run = stranded.every((name) => name === AUDIT_SPOOL_FILE) ? 'with --workers 1' : `with --workers ${needed} (or more)`;
  return `audit events an earlier run could not commit wait in ${stranded.join(', ')}; serve once ${run} so they are replayed into their own chain`;
}
