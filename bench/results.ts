/**
 * Turning phase results into the JSON record: per-cell figures, the baseline cells, node start-up
 * times, and the issue's targets evaluated from them; plus the printed summary.
 */
import type { Variant } from './matrix.js';
import type { PhaseResult } from './phase.js';
import { fmt } from './phase.js';
import { round } from './stats.js';
import type { Operation } from './xks-requests.js';

/** Above this much CPU (% of one core) used by other processes, a phase's figures are flagged. */
export const NOISY_OTHER_CPU_PCT = 25;

export function fixedRateFigures(r: PhaseResult, rate: number) {
  return {
    target_rps: rate,
    rps: r.rps,
    p50_ms: r.latency.p50_ms,
    p90_ms: r.latency.p90_ms,
    p99_ms: r.latency.p99_ms,
    p999_ms: r.latency.p999_ms,
    max_ms: r.latency.max_ms,
    errors: r.errors,
    late: r.late,
    unsent: r.unsent,
    timeouts: r.timeouts,
    transport_errors: r.transportErrors,
    non_200: r.non200,
    status_counts: r.statusCounts,
    send_lag_p50_ms: r.sendLagP50Ms,
    send_lag_p99_ms: r.sendLagP99Ms,
    send_lag_max_ms: r.sendLagMaxMs,
    server_cpu_pct: r.serverCpuPct,
    cpu_us_per_request: cpuUsPerRequest(r),
    loadgen_cpu_pct: r.loadgenCpuPct,
    machine_busy_pct: r.machineBusyPct,
    other_cpu_pct: r.otherCpuPct,
  };
}
export type FixedRateFigures = ReturnType<typeof fixedRateFigures>;

/** CPU time the server process (with its threads and workers) spent per request, in µs. */
export const cpuUsPerRequest = (r: PhaseResult): number | undefined =>
  r.serverCpuPct && r.rps > 0 ? round(((r.serverCpuPct / 100) * 1e6) / r.rps, 0) : undefined;

export function saturationFigures(r: PhaseResult) {
  return {
    rps: r.rps,
    /** req/s per core of server CPU: per-request cost, less sensitive to CPU contention than rps. */
    rps_per_server_core: r.serverCpuPct ? round(r.rps / (r.serverCpuPct / 100), 0) : undefined,
    cpu_us_per_request: cpuUsPerRequest(r),
    errors: r.errors,
    p50_ms: r.latency.p50_ms,
    p99_ms: r.latency.p99_ms,
    max_ms: r.latency.max_ms,
    server_cpu_pct: r.serverCpuPct,
    loadgen_cpu_pct: r.loadgenCpuPct,
    machine_busy_pct: r.machineBusyPct,
    other_cpu_pct: r.otherCpuPct,
  };
}

/**
 * The run with the median req/s (the lower middle one for an even count), so its figures stay a
 * consistent set. Runs contaminated by other processes are left out while at least one clean run exists.
 */
export function medianRun(runs: PhaseResult[]): PhaseResult {
  const clean = runs.filter((r) => (r.otherCpuPct ?? 0) <= NOISY_OTHER_CPU_PCT);
  const sorted = [...(clean.length > 0 ? clean : runs)].sort((a, b) => a.rps - b.rps);
  return sorted[(sorted.length - 1) >> 1]!;
}

/** One transport × operation measured on the baseline (shared by the Keyhold cells of that transport). */
export interface BaselineMeasurement {
  saturationRuns: PhaseResult[];
  saturation: PhaseResult;
  fixed: PhaseResult;
}

export interface CellMeasurement {
  variant: Variant;
  operation: Operation;
  saturationRuns: PhaseResult[];
  saturation: PhaseResult;
  fixed: PhaseResult;
  baseline: BaselineMeasurement;
}

const cpuOf = (r: PhaseResult) => ({
  server_pct: r.serverCpuPct,
  loadgen_pct: r.loadgenCpuPct,
  other_pct: r.otherCpuPct,
  machine_busy_pct: r.machineBusyPct,
});

export function cellRecord(cell: CellMeasurement, rate: number) {
  const { variant } = cell;
  return {
    variant: variant.name,
    description: variant.description,
    operation: cell.operation,
    protocol: variant.protocol === 'h2' ? 'HTTP/2' : 'HTTP/1.1',
    connection: variant.connection,
    keys: variant.dataset.keys,
    root: variant.dataset.root,
    server: variant.server.kind,
    workers: variant.server.kind === 'serve' ? (variant.server.workers ?? 1) : 1,
    saturation_rps: cell.saturation.rps,
    baseline_saturation_rps: cell.baseline.saturation.rps,
    ratio_to_baseline: round(cell.saturation.rps / cell.baseline.saturation.rps, 3),
    saturation: { ...saturationFigures(cell.saturation), runs_rps: cell.saturationRuns.map((r) => r.rps) },
    /** µs of server CPU per request at saturation, Keyhold and the baseline (same transport and operation). */
    cpu_us_per_request: cpuUsPerRequest(cell.saturation),
    baseline_cpu_us_per_request: cpuUsPerRequest(cell.baseline.saturation),
    fixed_rate: fixedRateFigures(cell.fixed, rate),
    baseline_fixed_rate: fixedRateFigures(cell.baseline.fixed, rate),
    cpu: { saturation: cpuOf(cell.saturation), fixed_rate: cpuOf(cell.fixed) },
  };
}
export type CellRecord = ReturnType<typeof cellRecord>;

export interface StartupRecord {
  dataset: string;
  keys: number;
  root: string;
  server: string;
  /** Initializing the data directory (keys, certificate, database) and seeding its keys, in a separate process. */
  init_ms: number;
  seed_ms: number;
  /** Spawning the server process until it serves. */
  process_to_ready_ms: number;
  /** startNode() alone (opening the store and root, loading and unsealing every key, listening). */
  start_node_ms?: number;
}

export interface Target {
  name: string;
  target: string;
  measured: number | null;
  unit: string;
  met: boolean;
}

const label = (c: CellRecord) => `${c.variant} ${c.operation}`;
const finite = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n);

/** The issue's targets, evaluated from this run (targets apply to keep-alive traffic only). */
export function evaluateTargets(cells: CellRecord[], startup: StartupRecord[]): Target[] {
  const targets: Target[] = [];
  const keepAlive = cells.filter((c) => c.connection === 'keep-alive');
  for (const c of keepAlive.filter((c) => c.root === 'software')) {
    const p99 = c.fixed_rate.p99_ms;
    targets.push({
      name: `p99 at ${c.fixed_rate.target_rps}/s: ${label(c)}`,
      target: '≤ 10 ms',
      measured: p99,
      unit: 'ms',
      met: finite(p99) && p99 <= 10,
    });
    const p999 = c.fixed_rate.p999_ms;
    targets.push({
      name: `p99.9 at ${c.fixed_rate.target_rps}/s: ${label(c)}`,
      target: '≤ 25 ms',
      measured: p999,
      unit: 'ms',
      met: finite(p999) && p999 <= 25,
    });
    targets.push({
      name: `errors at ${c.fixed_rate.target_rps}/s: ${label(c)}`,
      target: '0',
      measured: c.fixed_rate.errors,
      unit: '',
      met: c.fixed_rate.errors === 0,
    });
    // Saturation and CPU targets: the default cells of the crypto operations (the issue's "default Encrypt and Decrypt").
    if (c.variant !== 'default' || (c.operation !== 'Encrypt' && c.operation !== 'Decrypt')) continue;
    targets.push({
      name: `saturation / baseline: ${label(c)}`,
      target: '≥ 0.6',
      measured: c.ratio_to_baseline,
      unit: '×',
      met: c.ratio_to_baseline >= 0.6,
    });
    const cpuRatio =
      finite(c.cpu_us_per_request) && finite(c.baseline_cpu_us_per_request) && c.baseline_cpu_us_per_request > 0
        ? round(c.cpu_us_per_request / c.baseline_cpu_us_per_request, 2)
        : null;
    targets.push({
      name: `CPU per request / baseline's: ${label(c)}`,
      target: '≤ 2 ×',
      measured: cpuRatio,
      unit: '×',
      met: cpuRatio !== null && cpuRatio <= 2,
    });
  }
  for (const many of keepAlive.filter((c) => c.keys >= 100_000)) {
    const few = keepAlive.find(
      (c) =>
        c.keys === 10 && c.root === many.root && c.protocol === many.protocol && c.operation === many.operation && c.server === many.server,
    );
    if (!few) continue;
    const change =
      finite(many.fixed_rate.p99_ms) && finite(few.fixed_rate.p99_ms)
        ? round((many.fixed_rate.p99_ms / few.fixed_rate.p99_ms - 1) * 100, 1)
        : null;
    targets.push({
      name: `p99 change, ${many.keys.toLocaleString('en')} keys vs 10: ${many.operation}`,
      target: '< +20 %',
      measured: change,
      unit: '%',
      met: change !== null && change < 20,
    });
  }
  for (const s of startup.filter((s) => s.keys >= 100_000)) {
    const seconds = round(s.process_to_ready_ms / 1000, 2);
    targets.push({
      name: `node start (process → serving), ${s.keys.toLocaleString('en')} keys`,
      target: '< 2 s',
      measured: seconds,
      unit: 's',
      met: seconds < 2,
    });
  }
  for (const c of keepAlive.filter((c) => c.root === 'hsm')) {
    const p99 = c.fixed_rate.p99_ms;
    targets.push({
      name: `HSM p99 at ${c.fixed_rate.target_rps}/s, no errors: ${label(c)}`,
      target: '≤ 15 ms, 0 errors',
      measured: p99,
      unit: 'ms',
      met: finite(p99) && p99 <= 15 && c.fixed_rate.errors === 0,
    });
  }
  return targets;
}

/** Reasons not to trust a phase's figures: CPU contention from other processes, a load generator behind schedule. */
export function warningsFor(phases: PhaseResult[], lateMs: number): string[] {
  const warnings: string[] = [];
  for (const r of phases) {
    if ((r.otherCpuPct ?? 0) > NOISY_OTHER_CPU_PCT) {
      warnings.push(`${r.phase}: other processes used ${r.otherCpuPct}% of a core; figures contaminated, not comparable`);
    }
    if (r.mode === 'fixed-rate' && r.connection === 'keep-alive' && r.late > r.ok / 1000) {
      warnings.push(`${r.phase}: ${r.late} requests sent > ${lateMs} ms after their slot (load generator behind schedule)`);
    }
  }
  return warnings;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

/**
 * The columns a cell shows in the printed summary (`short`) and in BENCHMARKS.md (`head`), in order;
 * `digits` rounds the value for BENCHMARKS.md.
 */
export const CELL_COLUMNS: readonly {
  head: string;
  short: string;
  value: (c: CellRecord) => string | number | undefined;
  digits?: number;
}[] = [
  { head: 'variant', short: 'variant', value: (c) => c.variant },
  { head: 'operation', short: 'operation', value: (c) => c.operation },
  { head: 'protocol', short: 'proto', value: (c) => c.protocol },
  { head: 'connection', short: 'conn', value: (c) => c.connection },
  { head: 'keys', short: 'keys', value: (c) => c.keys },
  { head: 'root', short: 'root', value: (c) => c.root },
  { head: 'saturation req/s', short: 'sat/s', value: (c) => c.saturation_rps, digits: 0 },
  { head: 'baseline req/s', short: 'base/s', value: (c) => c.baseline_saturation_rps, digits: 0 },
  { head: 'ratio', short: 'ratio', value: (c) => c.ratio_to_baseline },
  { head: 'CPU µs/req', short: 'µs/req', value: (c) => c.cpu_us_per_request, digits: 0 },
  { head: 'baseline CPU µs/req', short: 'base µs', value: (c) => c.baseline_cpu_us_per_request, digits: 0 },
  { head: 'p50 ms', short: 'p50@rate', value: (c) => c.fixed_rate.p50_ms },
  { head: 'p99 ms', short: 'p99', value: (c) => c.fixed_rate.p99_ms },
  { head: 'p99.9 ms', short: 'p99.9', value: (c) => c.fixed_rate.p999_ms },
  { head: 'max ms', short: 'max', value: (c) => c.fixed_rate.max_ms },
  { head: 'errors', short: 'errors', value: (c) => c.fixed_rate.errors },
  { head: 'late', short: 'late', value: (c) => c.fixed_rate.late },
  { head: 'baseline p99 ms', short: 'base p99', value: (c) => c.baseline_fixed_rate.p99_ms },
  {
    head: 'other CPU %',
    short: 'other%',
    value: (c) => Math.max(c.cpu.saturation.other_pct ?? 0, c.cpu.fixed_rate.other_pct ?? 0),
    digits: 0,
  },
];

export function printSummary(cells: CellRecord[], startup: StartupRecord[], targets: Target[], rate: number): void {
  const rows = [
    CELL_COLUMNS.map((column) => column.short.replace('@rate', `@${rate}`)),
    ...cells.map((c) =>
      CELL_COLUMNS.map((column) => {
        const value = column.value(c);
        return typeof value === 'string' ? value : fmt(value);
      }),
    ),
  ];
  console.log(`\n${table(rows)}`);
  console.log('\nnode start-up:');
  for (const s of startup) {
    console.log(
      `  ${s.dataset.padEnd(14)} ${String(s.keys).padStart(7)} keys  process → serving ${round(s.process_to_ready_ms, 0)} ms, startNode() ${fmt(s.start_node_ms === undefined ? undefined : round(s.start_node_ms, 0))} ms  (init ${round(s.init_ms, 0)} ms, seed ${round(s.seed_ms, 0)} ms)`,
    );
  }
  console.log('\ntargets:');
  for (const t of targets)
    console.log(
      `  ${t.met ? 'met   ' : 'MISSED'}  ${t.name.padEnd(52)} ${t.target.padEnd(18)} measured ${fmt(t.measured)}${t.unit ? ` ${t.unit}` : ''}`,
    );
}
