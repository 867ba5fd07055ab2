/**
 * One measured phase: a sample correctness check, then the load-generator child (load.ts) runs the
 * phase against one server while this process samples the server's and the machine's CPU over the
 * measurement window. The load generator is one process for the whole run (LoadGenerator), started
 * before the first phase, so starting it costs no phase anything.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { forkScript, machineCpu, processCpuSeconds, stopChild } from './children.js';
import type { Connection, LoadJob, LoadResult, Protocol } from './load.js';
import { round } from './stats.js';
import type { Operation, PreparedRequest } from './xks-requests.js';

/** A server as one phase sees it: where it listens, over which transport, with which requests. */
export interface PhaseTarget {
  server: 'keyhold' | 'baseline';
  /** Names the cell in phase labels, e.g. `default Encrypt`. */
  label: string;
  operation: Operation;
  protocol: Protocol;
  connection: Connection;
  /** The server process (its CPU, and its descendants', is sampled over the window). */
  pid: number | undefined;
  port: number;
  ca: string;
  /** Signs a fresh pool of requests (signatures are valid 5 minutes). */
  pool(): Promise<PreparedRequest[]>;
  /** Sample-request correctness check; returns problems. */
  check(): Promise<string[]>;
}

export interface PhaseConfig {
  warmupS: number;
  saturationS: number;
  fixedRateS: number;
  rate: number;
  concurrency: number;
  connections: number;
  drainMs: number;
  checkEvery: number;
}

export interface PhaseResult extends LoadResult {
  phase: string;
  server: PhaseTarget['server'];
  operation: Operation;
  protocol: Protocol;
  connection: Connection;
  /** CPU used by the server process (and its workers) over the window, % of one core. */
  serverCpuPct?: number;
  /** CPU used by the whole machine over the window, % of all cores. */
  machineBusyPct?: number;
  /**
   * CPU used by everything else (other processes, kernel threads), % of one core: a noise gauge.
   * machine busy × cores − server − load generator; large values mean the figures are contaminated.
   */
  otherCpuPct?: number;
}

/** Statuses a server may answer under overload (load shedding, throttling): errors, not correctness failures. */
const OVERLOAD_STATUSES = ['429', '503'];
/** The ALPN protocol each transport must negotiate. */
const ALPN: Record<Protocol, string> = { h1: 'http/1.1', h2: 'h2' };

export async function runPhase(
  target: PhaseTarget,
  mode: LoadJob['mode'],
  config: PhaseConfig,
  context: { failures: string[]; loadGenerator: LoadGenerator; run?: number },
): Promise<PhaseResult> {
  const phase = `${mode} ${target.server} ${target.label}${context.run === undefined ? '' : ` #${context.run}`}`;
  const problems = await target.check();
  context.failures.push(...problems.map((p) => `${phase}: ${p}`));

  const job: LoadJob = {
    mode,
    protocol: target.protocol,
    connection: target.connection,
    port: target.port,
    ca: target.ca,
    requests: await target.pool(),
    connections: config.connections,
    warmupMs: config.warmupS * 1000,
    durationMs: (mode === 'saturation' ? config.saturationS : config.fixedRateS) * 1000,
    drainMs: config.drainMs,
    concurrency: config.concurrency,
    rate: config.rate,
    maxInFlight: config.rate,
    checkEvery: config.checkEvery,
  };

  const child = context.loadGenerator.child;
  let serverCpu0: number | undefined;
  let serverCpu: number | undefined;
  let machine0: ReturnType<typeof machineCpu>;
  let machineBusy: number | undefined;
  let windowStart = 0;
  const result = await new Promise<LoadResult>((resolvePhase, reject) => {
    const onExit = (code: number | null) => reject(new Error(`load generator exited with code ${code} before reporting`));
    const onMessage = (message: { type: string; result?: LoadResult }) => {
      if (message.type === 'measure-start') {
        serverCpu0 = processCpuSeconds(target.pid);
        machine0 = machineCpu();
        windowStart = performance.now();
      } else if (message.type === 'measure-end') {
        const seconds = (performance.now() - windowStart) / 1000;
        const cpu1 = processCpuSeconds(target.pid);
        if (serverCpu0 !== undefined && cpu1 !== undefined) serverCpu = round(((cpu1 - serverCpu0) / seconds) * 100, 1);
        const machine1 = machineCpu();
        if (machine0 && machine1) machineBusy = round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100, 1);
      } else if (message.type === 'result' && message.result) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolvePhase(message.result);
      }
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type: 'job', job });
  });
  const overload = OVERLOAD_STATUSES.reduce((sum, status) => sum + (result.statusCounts[status] ?? 0), 0);
  if (result.badResponses > 0 || result.non200 > overload) {
    context.failures.push(
      `${phase}: ${result.non200 - overload} non-200 responses, ${result.badResponses} malformed ${target.operation} responses (${result.firstProblem})`,
    );
  }
  // Cold connections at a fixed rate may get nothing through (each request costs both sides a full
  // handshake): an overload outcome, reported with the figures, not a correctness failure.
  if (result.ok === 0 && !(target.connection === 'cold' && mode === 'fixed-rate')) {
    context.failures.push(`${phase}: no successful responses (${result.firstProblem ?? 'nothing completed'})`);
  }
  if (result.tls && result.tls.alpn !== ALPN[target.protocol]) {
    context.failures.push(`${phase}: negotiated ${String(result.tls.alpn)}, not ${ALPN[target.protocol]}`);
  }
  const otherCpu =
    machineBusy !== undefined && serverCpu !== undefined
      ? round(Math.max(0, machineBusy * cpus().length - serverCpu - result.loadgenCpuPct), 1)
      : undefined;
  const phaseResult: PhaseResult = {
    phase,
    server: target.server,
    operation: target.operation,
    protocol: target.protocol,
    connection: target.connection,
    ...result,
    serverCpuPct: serverCpu,
    machineBusyPct: machineBusy,
    otherCpuPct: otherCpu,
  };
  const sample = problems.length > 0 ? `  SAMPLE CHECK FAILED: ${problems.join('; ')}` : '';
  console.log(`  ${phase.padEnd(44)} ${describe(phaseResult)}${sample}`);
  return phaseResult;
}

/** The load-generator process, shared by every phase of a run. */
export class LoadGenerator {
  readonly child: ChildProcess = forkScript('load.ts');

  /**
   * `pinCpu` (e.g. "1"): the load generator and all its threads run only on that core (`taskset`), so
   * the servers have the others to themselves (--pin-loadgen; docs/workers.md measures workers so).
   */
  constructor(pinCpu?: string) {
    const pid = this.child.pid;
    if (pinCpu === undefined || pid === undefined) return;
    const pinned = spawnSync('taskset', ['-a', '-p', '-c', pinCpu, String(pid)], { encoding: 'utf8' });
    if (pinned.status !== 0)
      throw new Error(`could not pin the load generator to CPU ${pinCpu}: ${pinned.stderr.trim() || pinned.error?.message}`);
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

function describe(r: PhaseResult): string {
  const cpu = `cpu% server ${fmt(r.serverCpuPct)} loadgen ${fmt(r.loadgenCpuPct)} other ${fmt(r.otherCpuPct)}`;
  const errors = r.errors > 0 ? `  ERRORS ${r.errors} (first: ${r.firstProblem ?? '?'})` : '';
  const late = r.late > 0 ? `  LATE ${r.late}` : '';
  return `${fmt(r.rps).padStart(8)} req/s  p50 ${fmt(r.latency.p50_ms)} ms  p99 ${fmt(r.latency.p99_ms)} ms  ${cpu}${errors}${late}`;
}

export function fmt(n: number | undefined | null): string {
  return n === undefined || n === null || Number.isNaN(n) ? '-' : String(n);
}
