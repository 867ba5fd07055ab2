/**
 * `npm run bench`: XKS Encrypt throughput and latency of Keyhold against a bare HTTPS+AES-GCM baseline.
 *
 *   npm run bench [-- --duration S] [--rate N] [--concurrency N] [--connections N] [--repeat N] [--out FILE] [--quick] [--hsm]
 *
 * Starts a Keyhold node (bench/keyhold-child.mjs) and the baseline (bench/baseline-server.mjs) as child
 * processes on 127.0.0.1, then runs each phase with a fresh load-generator child (bench/load.ts):
 *   1. saturation, baseline     closed loop, --concurrency requests in flight over --connections
 *   2. saturation, keyhold
 *   3. fixed rate, keyhold      open loop at --rate req/s, latency from the scheduled send time
 *   4. fixed rate, baseline     for reference
 * With --hsm, a second Keyhold node whose root of trust is a SoftHSMv2 token in keys mode (every
 * Encrypt is CKM_AES_GCM inside the HSM) runs the same saturation and fixed-rate phases, reported
 * beside the software root as `keyhold_hsm` in the JSON (needs softhsm2-util and libsofthsm2.so).
 * Before each phase a sample request is checked for correctness (see checks.ts), and the load
 * generator checks statuses and a sample of bodies. Writes JSON to --out (default
 * bench-results.json) and prints a summary. Exits 1 if a server failed to start or any phase saw a
 * correctness failure; always stops the children and removes its temporary data directory.
 *
 * Default concurrency: 32 requests in flight over 16 keep-alive connections. On the 2-core machine
 * Keyhold's single event loop is saturated from 16 in flight on (same req/s at 16, 32 and 64; 8 is
 * ~20% lower), and more in flight only adds queueing latency. With twice as many requests as sockets
 * the agent always has the next request queued, so no connection idles between a response and the
 * next send. The baseline's figure moves with noise, not with these settings.
 *
 * On a small machine the load generator competes with the server for CPU: each phase reports the
 * CPU used by the server, the load generator and everything else ("other", a noise gauge), so a
 * contaminated run is visible. Compare figures from --repeat runs (median) or several invocations.
 * BENCH_SERVER_NODE_ARGS passes extra node flags to the servers, e.g. '--cpu-prof --cpu-prof-dir=DIR'.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkBaseline, checkKeyhold } from './checks.js';
import { forkScript, machineCpu, processCpuSeconds, startServer, stopChild } from './children.js';
import type { KeyholdReady } from './protocol.js';
import { LATE_MS, type LoadJob, type LoadResult } from './load.js';
import { round } from './stats.js';
import { AAD_BYTES, PLAINTEXT_BYTES, preparePool, type PreparedRequest } from './xks-requests.js';

// ---------------------------------------------------------------------------------------------- options

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rate: { type: 'string', default: '1800' },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string' },
    pool: { type: 'string', default: '256' },
    repeat: { type: 'string', default: '1' },
    out: { type: 'string', default: 'bench-results.json' },
    quick: { type: 'boolean', default: false },
    hsm: { type: 'boolean', default: false },
    'audit-mode': { type: 'string', default: 'durable' },
    'audit-sync': { type: 'string', default: 'full' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  console.log(`usage: npm run bench -- [options]
  --duration S      measured seconds per phase (default: 8 for saturation, 10 for fixed rate; 1 with --quick)
  --warmup S        warm-up seconds before each phase (default 2; 0.5 with --quick)
  --rate N          fixed-rate phases: requests per second (default 1800, the default XKS TPS quota)
  --concurrency N   saturation phases: requests in flight (default 32)
  --connections N   keep-alive connections (default: concurrency / 2, i.e. 16)
  --pool N          distinct pre-signed requests per phase (default 256)
  --repeat N        run the two saturation phases N times, alternating, and report the median run,
                    ignoring runs disturbed by other processes if any run was not (default 1; use 3
                    or 5 on a noisy machine before comparing figures)
  --out FILE        JSON results (default bench-results.json)
  --quick           short smoke run (1 s phases) for CI
  --hsm             also run Keyhold with a SoftHSMv2 root of trust in keys mode (HSM does every AES-GCM)
  --audit-mode M    Keyhold's audit log: durable (default, as \`serve\`), fail-closed or lossy
  --audit-sync S    SQLite audit commits: full (default, as \`serve\`) or normal`);
  process.exit(0);
}

function positive(name: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    console.error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
    process.exit(2);
  }
  return n;
}

function nonNegative(name: string, value: string | undefined, fallback: number): number {
  return positive(name, value, fallback, true);
}

const quick = flags.quick;
const config = {
  warmupS: nonNegative('warmup', flags.warmup, quick ? 0.5 : 2),
  saturationS: positive('duration', flags.duration, quick ? 1 : 8),
  fixedRateS: positive('duration', flags.duration, quick ? 1 : 10),
  rate: positive('rate', flags.rate, 1800),
  concurrency: Math.round(positive('concurrency', flags.concurrency, 32)),
  connections: 0,
  poolSize: Math.round(positive('pool', flags.pool, 256)),
  repeat: Math.round(positive('repeat', flags.repeat, 1)),
  drainMs: 2000,
  /** Parse and check every N-th 200 body in the load generator (the rest: status only). */
  checkEvery: 16,
};
config.connections = Math.round(positive('connections', flags.connections, Math.max(1, Math.round(config.concurrency / 2))));
const outFile = resolve(flags.out);

// ---------------------------------------------------------------------------------------------- phases

interface Server {
  name: 'baseline' | 'keyhold' | 'keyhold-hsm';
  child: ChildProcess;
  port: number;
  ca: string;
  /** Signs a fresh pool of requests (the baseline ignores signatures, but gets the same bytes). */
  pool(): Promise<PreparedRequest[]>;
  /** Sample-request correctness check; returns problems. */
  check(): Promise<string[]>;
}

interface PhaseResult extends LoadResult {
  phase: string;
  /** CPU used by the server process over the window, % of one core. */
  serverCpuPct?: number;
  /** CPU used by the whole machine over the window, % of all cores. */
  machineBusyPct?: number;
  /**
   * CPU used by everything else (other processes, kernel threads), % of one core: a noise gauge.
   * machine busy × cores − server − load generator; large values mean the figures are contaminated.
   */
  otherCpuPct?: number;
}

const failures: string[] = [];
/** Running children (servers, the current load generator), stopped on exit. */
const children: ChildProcess[] = [];
/** Above this much CPU (% of one core) used by other processes, a phase's figures are flagged. */
const NOISY_OTHER_CPU_PCT = 25;

async function runPhase(server: Server, mode: LoadJob['mode'], run?: number): Promise<PhaseResult> {
  const phase = `${mode} ${server.name}${run === undefined ? '' : ` #${run}`}`;
  const problems = await server.check();
  failures.push(...problems.map((p) => `${phase}: ${p}`));

  const job: LoadJob = {
    mode,
    port: server.port,
    ca: server.ca,
    requests: await server.pool(),
    connections: config.connections,
    warmupMs: config.warmupS * 1000,
    durationMs: (mode === 'saturation' ? config.saturationS : config.fixedRateS) * 1000,
    drainMs: config.drainMs,
    concurrency: config.concurrency,
    rate: config.rate,
    maxInFlight: config.rate,
    checkEvery: config.checkEvery,
  };

  const child = forkScript('load.ts');
  children.push(child);
  let serverCpu0: number | undefined;
  let serverCpu: number | undefined;
  let machine0: ReturnType<typeof machineCpu>;
  let machineBusy: number | undefined;
  let windowStart = 0;
  try {
    const result = await new Promise<LoadResult>((resolvePhase, reject) => {
      child.on('message', (message: { type: string; result?: LoadResult }) => {
        if (message.type === 'measure-start') {
          serverCpu0 = processCpuSeconds(server.child.pid);
          machine0 = machineCpu();
          windowStart = performance.now();
        } else if (message.type === 'measure-end') {
          const seconds = (performance.now() - windowStart) / 1000;
          const cpu1 = processCpuSeconds(server.child.pid);
          if (serverCpu0 !== undefined && cpu1 !== undefined) serverCpu = round(((cpu1 - serverCpu0) / seconds) * 100, 1);
          const machine1 = machineCpu();
          if (machine0 && machine1) machineBusy = round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100, 1);
        } else if (message.type === 'result' && message.result) {
          resolvePhase(message.result);
        }
      });
      child.once('exit', (code) => reject(new Error(`load generator exited with code ${code} before reporting`)));
      child.send({ type: 'job', job });
    });
    if (result.badResponses > 0 || result.non200 > 0) {
      failures.push(`${phase}: ${result.non200} non-200 responses, ${result.badResponses} malformed Encrypt responses (${result.firstProblem})`);
    }
    if (result.ok === 0) failures.push(`${phase}: no successful responses (${result.firstProblem ?? 'nothing completed'})`);
    const otherCpu =
      machineBusy !== undefined && serverCpu !== undefined
        ? round(Math.max(0, machineBusy * cpus().length - serverCpu - result.loadgenCpuPct), 1)
        : undefined;
    const phaseResult: PhaseResult = { phase, ...result, serverCpuPct: serverCpu, machineBusyPct: machineBusy, otherCpuPct: otherCpu };
    const sample = problems.length > 0 ? `  SAMPLE CHECK FAILED: ${problems.join('; ')}` : '';
    console.log(`  ${phase.padEnd(24)} ${describe(phaseResult)}${sample}`);
    return phaseResult;
  } finally {
    await stopChild(child);
    children.splice(children.indexOf(child), 1);
  }
}

function describe(r: PhaseResult): string {
  const cpu = `cpu% server ${fmt(r.serverCpuPct)} loadgen ${fmt(r.loadgenCpuPct)} other ${fmt(r.otherCpuPct)}`;
  const errors = r.errors > 0 ? `  ERRORS ${r.errors} (first: ${r.firstProblem ?? '?'})` : '';
  const late = r.late > 0 ? `  LATE ${r.late}` : '';
  return `${fmt(r.rps)} req/s  p50 ${fmt(r.latency.p50_ms)} ms  p99 ${fmt(r.latency.p99_ms)} ms  ${cpu}${errors}${late}`;
}

function fmt(n: number | undefined): string {
  return n === undefined || Number.isNaN(n) ? '-' : String(n);
}

// ---------------------------------------------------------------------------------------------- results

function fixedRateFigures(r: PhaseResult) {
  return {
    target_rps: config.rate,
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
    send_lag_p50_ms: r.sendLagP50Ms,
    send_lag_p99_ms: r.sendLagP99Ms,
    send_lag_max_ms: r.sendLagMaxMs,
    server_cpu_pct: r.serverCpuPct,
    loadgen_cpu_pct: r.loadgenCpuPct,
    machine_busy_pct: r.machineBusyPct,
    other_cpu_pct: r.otherCpuPct,
  };
}

function saturationFigures(r: PhaseResult) {
  return {
    rps: r.rps,
    /** req/s per core of server CPU: per-request cost, less sensitive to CPU contention than rps. */
    rps_per_server_core: r.serverCpuPct ? round(r.rps / (r.serverCpuPct / 100), 0) : undefined,
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
function medianRun(runs: PhaseResult[]): PhaseResult {
  const clean = runs.filter((r) => (r.otherCpuPct ?? 0) <= NOISY_OTHER_CPU_PCT);
  const sorted = [...(clean.length > 0 ? clean : runs)].sort((a, b) => a.rps - b.rps);
  return sorted[(sorted.length - 1) >> 1]!;
}

function gitCommit(): { commit?: string; dirty?: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return {};
  }
}

function printSummary(
  baseline: Record<'saturation' | 'fixed', PhaseResult>,
  keyhold: Record<'saturation' | 'fixed', PhaseResult>,
  ratio: number,
  hsm?: Record<'saturation' | 'fixed', PhaseResult>,
): void {
  const rows = [
    ['', 'baseline', 'keyhold'],
    ['saturation req/s', fmt(baseline.saturation.rps), fmt(keyhold.saturation.rps)],
    ['  keyhold / baseline', '', `${fmt(round(ratio * 100, 1))}%`],
    ['  req/s per server core', fmt(saturationFigures(baseline.saturation).rps_per_server_core), fmt(saturationFigures(keyhold.saturation).rps_per_server_core)],
    ['  server CPU %', fmt(baseline.saturation.serverCpuPct), fmt(keyhold.saturation.serverCpuPct)],
    ['  load generator CPU %', fmt(baseline.saturation.loadgenCpuPct), fmt(keyhold.saturation.loadgenCpuPct)],
    ['  other processes CPU %', fmt(baseline.saturation.otherCpuPct), fmt(keyhold.saturation.otherCpuPct)],
    [`fixed rate (${config.rate}/s) req/s`, fmt(baseline.fixed.rps), fmt(keyhold.fixed.rps)],
    ['  p50 ms', fmt(baseline.fixed.latency.p50_ms), fmt(keyhold.fixed.latency.p50_ms)],
    ['  p99 ms', fmt(baseline.fixed.latency.p99_ms), fmt(keyhold.fixed.latency.p99_ms)],
    ['  p99.9 ms', fmt(baseline.fixed.latency.p999_ms), fmt(keyhold.fixed.latency.p999_ms)],
    ['  max ms', fmt(baseline.fixed.latency.max_ms), fmt(keyhold.fixed.latency.max_ms)],
    ['  errors / late', `${baseline.fixed.errors} / ${baseline.fixed.late}`, `${keyhold.fixed.errors} / ${keyhold.fixed.late}`],
    ['  server CPU %', fmt(baseline.fixed.serverCpuPct), fmt(keyhold.fixed.serverCpuPct)],
    ['  other processes CPU %', fmt(baseline.fixed.otherCpuPct), fmt(keyhold.fixed.otherCpuPct)],
  ];
  if (hsm) {
    // A third column: the same rows for Keyhold on the HSM root (keys mode).
    const column = [
      'keyhold-hsm',
      fmt(hsm.saturation.rps),
      `${fmt(round((hsm.saturation.rps / baseline.saturation.rps) * 100, 1))}%`,
      fmt(saturationFigures(hsm.saturation).rps_per_server_core),
      fmt(hsm.saturation.serverCpuPct),
      fmt(hsm.saturation.loadgenCpuPct),
      fmt(hsm.saturation.otherCpuPct),
      fmt(hsm.fixed.rps),
      fmt(hsm.fixed.latency.p50_ms),
      fmt(hsm.fixed.latency.p99_ms),
      fmt(hsm.fixed.latency.p999_ms),
      fmt(hsm.fixed.latency.max_ms),
      `${hsm.fixed.errors} / ${hsm.fixed.late}`,
      fmt(hsm.fixed.serverCpuPct),
      fmt(hsm.fixed.otherCpuPct),
    ];
    rows.forEach((row, i) => row.push(column[i]!));
  }
  console.log();
  for (const [label, ...cells] of rows) console.log(`${label!.padEnd(28)}${cells.map((cell) => cell!.padStart(12)).join('')}`);
}

/** A SoftHSMv2 token in the temporary directory for the --hsm node: returns the child's extra args and env. */
function prepareSoftHsm(dir: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const pin = randomBytes(8).toString('hex');
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, pin, { mode: 0o600 });
  const env = { SOFTHSM2_CONF: conf };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'keyhold-bench', '--pin', pin, '--so-pin', randomBytes(8).toString('hex')], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  return {
    args: ['--pkcs11-library', SOFTHSM_LIBRARY, '--pkcs11-token-label', 'keyhold-bench', '--pkcs11-pin-file', pinFile, '--pkcs11-mode', 'keys'],
    env,
  };
}

const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

/** Reasons not to trust a phase's figures: CPU contention from other processes, a load generator behind schedule. */
function warningsFor(phases: PhaseResult[]): string[] {
  const warnings: string[] = [];
  for (const r of phases) {
    if ((r.otherCpuPct ?? 0) > NOISY_OTHER_CPU_PCT) {
      warnings.push(`${r.phase}: other processes used ${r.otherCpuPct}% of a core; figures contaminated, not comparable`);
    }
    if (r.mode === 'fixed-rate' && r.late > r.ok / 1000) {
      warnings.push(`${r.phase}: ${r.late} requests sent > ${LATE_MS} ms after their slot (load generator behind schedule)`);
    }
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------- main

const tempDir = mkdtempSync(join(tmpdir(), 'keyhold-bench-'));
let cleanedUp: Promise<void> | undefined;
let interrupted = false;

/** Stops the children and removes the temporary directory; every caller waits for the same work. */
function cleanup(): Promise<void> {
  cleanedUp ??= (async () => {
    await Promise.all(children.map((child) => stopChild(child)));
    rmSync(tempDir, { recursive: true, force: true });
  })();
  return cleanedUp;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  console.log(
    `Keyhold XKS Encrypt benchmark: warm-up ${config.warmupS} s, saturation ${config.saturationS} s at ${config.concurrency} in flight ` +
      `over ${config.connections} connections, fixed rate ${config.rate}/s for ${config.fixedRateS} s`,
  );

  const logFile = join(tempDir, 'keyhold.log');
  const keyholdStart = startServer<KeyholdReady>('keyhold', 'keyhold-child.mjs', ['--data-dir', join(tempDir, 'data'), '--log-file', logFile, '--audit-mode', flags['audit-mode']!, '--audit-sync', flags['audit-sync']!]);
  children.push(keyholdStart.child);
  const k = await keyholdStart.ready;
  const ca = readFileSync(k.certPath, 'utf8');

  const baselineKey = randomBytes(32);
  const baselineStart = startServer<{ type: 'ready'; port: number }>(
    'baseline',
    'baseline-server.mjs',
    ['--cert', k.certPath, '--key', k.keyPath],
    { BENCH_BASELINE_KEY: baselineKey.toString('hex') },
  );
  children.push(baselineStart.child);
  const baselinePort = (await baselineStart.ready).port;

  let hsm: Server | undefined;
  if (flags.hsm) {
    const softhsm = prepareSoftHsm(join(tempDir, 'softhsm'));
    const hsmStart = startServer<KeyholdReady>(
      'keyhold-hsm',
      'keyhold-child.mjs',
      ['--data-dir', join(tempDir, 'data-hsm'), '--log-file', join(tempDir, 'keyhold-hsm.log'), ...softhsm.args],
      softhsm.env,
    );
    children.push(hsmStart.child);
    const h = await hsmStart.ready;
    const hsmCa = readFileSync(h.certPath, 'utf8');
    const hsmPath = `${h.uriPath}/keys/${h.keyId}/encrypt`;
    hsm = {
      name: 'keyhold-hsm',
      child: hsmStart.child,
      port: h.port,
      ca: hsmCa,
      pool: () => preparePool({ host: `127.0.0.1:${h.port}`, path: hsmPath, credential: h.credential, size: config.poolSize }),
      check: () => checkKeyhold({ port: h.port, ca: hsmCa }, h.uriPath, h.keyId, h.credential),
    };
    console.log(`  keyhold-hsm (SoftHSMv2, keys mode) on :${h.port} (pid ${hsmStart.child.pid})`);
  }

  const credential = k.credential;
  const encryptPath = `${k.uriPath}/keys/${k.keyId}/encrypt`;
  const keyhold: Server = {
    name: 'keyhold',
    child: keyholdStart.child,
    port: k.port,
    ca,
    pool: () => preparePool({ host: `127.0.0.1:${k.port}`, path: encryptPath, credential, size: config.poolSize }),
    check: () => checkKeyhold({ port: k.port, ca }, k.uriPath, k.keyId, credential),
  };
  const baseline: Server = {
    name: 'baseline',
    child: baselineStart.child,
    port: baselinePort,
    ca,
    pool: () => preparePool({ host: `127.0.0.1:${baselinePort}`, path: encryptPath, credential, size: config.poolSize }),
    check: () => checkBaseline({ port: baselinePort, ca }, encryptPath, baselineKey),
  };
  console.log(`  keyhold on :${k.port} (pid ${keyholdStart.child.pid}), baseline on :${baselinePort} (pid ${baselineStart.child.pid})\n`);

  const baselineRuns: PhaseResult[] = [];
  const keyholdRuns: PhaseResult[] = [];
  for (let i = 1; i <= config.repeat; i++) {
    const run = config.repeat > 1 ? i : undefined;
    baselineRuns.push(await runPhase(baseline, 'saturation', run));
    keyholdRuns.push(await runPhase(keyhold, 'saturation', run));
  }
  const baselineSaturation = medianRun(baselineRuns);
  const keyholdSaturation = medianRun(keyholdRuns);
  const keyholdFixed = await runPhase(keyhold, 'fixed-rate');
  const baselineFixed = await runPhase(baseline, 'fixed-rate');
  const hsmRuns: PhaseResult[] = [];
  let hsmFixed: PhaseResult | undefined;
  if (hsm) {
    for (let i = 1; i <= config.repeat; i++) hsmRuns.push(await runPhase(hsm, 'saturation', config.repeat > 1 ? i : undefined));
    hsmFixed = await runPhase(hsm, 'fixed-rate');
  }
  const hsmSaturation = hsm ? medianRun(hsmRuns) : undefined;

  const ratio = keyholdSaturation.rps / baselineSaturation.rps;
  const warnings = warningsFor([baselineSaturation, keyholdSaturation, keyholdFixed, baselineFixed, ...(hsmSaturation && hsmFixed ? [hsmSaturation, hsmFixed] : [])]);
  const cpu = cpus();
  const results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpu.length,
      cpu_model: cpu[0]?.model,
      git: gitCommit(),
      quick,
      audit_mode: flags['audit-mode'],
      audit_sync: flags['audit-sync'],
      durations: { warmup_s: config.warmupS, saturation_s: config.saturationS, fixed_rate_s: config.fixedRateS },
      saturation_repeats: config.repeat,
      concurrency: config.concurrency,
      connections: config.connections,
      rate: config.rate,
      request: { operation: 'Encrypt', plaintext_bytes: PLAINTEXT_BYTES, aad_bytes: AAD_BYTES, pool_size: config.poolSize },
      transport: { protocol: 'HTTP/1.1 keep-alive', tls: keyholdSaturation.tls ?? null, client: 'node:https Agent, separate process' },
      keyhold_log_bytes: statSync(logFile, { throwIfNoEntry: false })?.size ?? 0,
    },
    baseline: {
      saturation_rps: baselineSaturation.rps,
      saturation: { ...saturationFigures(baselineSaturation), runs_rps: baselineRuns.map((r) => r.rps) },
      fixed_rate: fixedRateFigures(baselineFixed),
    },
    keyhold: {
      saturation_rps: keyholdSaturation.rps,
      ratio_to_baseline: round(ratio, 3),
      saturation: { ...saturationFigures(keyholdSaturation), runs_rps: keyholdRuns.map((r) => r.rps) },
      fixed_rate: fixedRateFigures(keyholdFixed),
    },
    ...(hsmSaturation && hsmFixed
      ? {
          keyhold_hsm: {
            root_of_trust: 'pkcs11 keys mode, SoftHSMv2 (every AES-GCM inside the HSM)',
            saturation_rps: hsmSaturation.rps,
            ratio_to_baseline: round(hsmSaturation.rps / baselineSaturation.rps, 3),
            ratio_to_software_root: round(hsmSaturation.rps / keyholdSaturation.rps, 3),
            saturation: { ...saturationFigures(hsmSaturation), runs_rps: hsmRuns.map((r) => r.rps) },
            fixed_rate: fixedRateFigures(hsmFixed),
          },
        }
      : {}),
    failures,
    warnings,
    phases: [...baselineRuns, ...keyholdRuns, keyholdFixed, baselineFixed, ...hsmRuns, ...(hsmFixed ? [hsmFixed] : [])],
  };
  writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');

  printSummary(
    { saturation: baselineSaturation, fixed: baselineFixed },
    { saturation: keyholdSaturation, fixed: keyholdFixed },
    ratio,
    hsmSaturation && hsmFixed ? { saturation: hsmSaturation, fixed: hsmFixed } : undefined,
  );
  if (warnings.length > 0) console.log(`\nWARNING ${warnings.join('\nWARNING ')}`);
  console.log(`\nResults written to ${outFile}`);
  if (failures.length > 0) {
    console.error(`\nCORRECTNESS FAILURES:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  return 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  if (!interrupted) console.error(`bench failed: ${(error as Error).message}`);
} finally {
  await cleanup();
}
process.exit(interrupted ? 130 : exitCode);
