/**
 * The CI-sized regression guard: each cell's saturation ratio (Keyhold / bare baseline, same run) against
 * the figure in the last committed BENCHMARKS.md. A drop of more than 20 % is a WARNING, never a failure:
 * on a shared 2-core machine one run can move that much by itself (check the noise column first).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellRecord } from './results.js';

/** A drop in ratio beyond this share of the committed figure is reported. */
export const REGRESSION_DROP = 0.2;

/** BENCHMARKS.md as last committed (HEAD), else as on disk, else nothing. */
export function committedBenchmarks(repoDir: string): string | undefined {
  try {
    return execFileSync('git', ['show', 'HEAD:BENCHMARKS.md'], { cwd: repoDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    try {
      return readFileSync(join(repoDir, 'BENCHMARKS.md'), 'utf8');
    } catch {
      return undefined;
    }
  }
}

/** `variant/operation` → ratio, from the generated cells table of BENCHMARKS.md (the header names its columns). */
export function committedRatios(markdown: string): Map<string, number> {
  const ratios = new Map<string, number>();
  let columns: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      columns = undefined;
      continue;
    }
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (!columns) {
      if (cells[0] === 'variant' && cells[1] === 'operation' && cells.includes('ratio')) columns = cells;
      continue;
    }
    const ratio = Number(cells[columns.indexOf('ratio')]);
    if (cells[0] && cells[1] && !cells[0].startsWith('---') && Number.isFinite(ratio)) ratios.set(`${cells[0]}/${cells[1]}`, ratio);
  }
  return ratios;
}

/** One warning per cell whose ratio dropped by more than REGRESSION_DROP against the committed figure. */
export function regressionWarnings(cells: readonly CellRecord[], committed: Map<string, number>): string[] {
  const warnings: string[] = [];
  for (const cell of cells) {
    const before = committed.get(`${cell.variant}/${cell.operation}`);
    if (before === undefined || before <= 0) continue;
    const drop = Math.round((1 - cell.ratio_to_baseline / before) * 1e4) / 1e4;
    if (drop > REGRESSION_DROP) {
      warnings.push(
        `regression? ${cell.variant} ${cell.operation}: ratio ${cell.ratio_to_baseline} against ${before} in the committed BENCHMARKS.md ` +
          `(${Math.round(drop * 100)} % lower; more than ${REGRESSION_DROP * 100} %: check the noise column before believing it)`,
      );
    }
  }
  return warnings;
}
