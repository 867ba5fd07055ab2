/**
 * `npm run bench`: XKS throughput and latency of Keyhold against a bare HTTPS baseline, as a matrix.
 *
 *   npm run bench [-- --duration S] [--rate N] [--concurrency N] [--connections N] [--repeat N] [--out FILE] [--quick] [--hsm] [--report]
 *
 * The matrix (matrix.ts): variants — software root with 10 keys over HTTP/1.1 keep-alive (the
 * default), HTTP/2 keep-alive, HTTP/1.1 cold connections (a full TLS handshake per request), 100,000
 * keys, and with --hsm a SoftHSMv2 root in keys mode — each for Encrypt, Decrypt, GetKeyMetadata and
 * GetHealthStatus (cold: Encrypt and Decrypt). Each cell is measured with, each in a fresh
 * load-generator child (load.ts):
 *   saturation   closed loop, --concurrency requests in flight over --connections
 *   fixed rate   open loop at --rate req/s, latency from the scheduled send time
 * and compared with the bare baseline (baseline-server.mjs) over the same transport for the same
 * operation, measured once per transport × operation (saturation runs alternate with Keyhold's).
 *
 * Data directories are initialized (and the 100,000 keys seeded) once per run, in separate
 * processes; each Keyhold server then starts on its directory as a later `keyhold serve` would, and
 * its start-up time is recorded. One Keyhold server runs at a time, beside the baseline.
 *
 * Before each phase a sample request is checked for correctness (checks.ts), and the load generator
 * checks every status, a sample of bodies, and the negotiated protocol. Writes JSON to --out
 * (default bench-results.json) with the targets evaluated, prints a summary, and with
 * --report regenerates docs/bench/latency.svg and BENCHMARKS.md's figures (report.ts). Exits 1 if a
 * server failed to start or any phase saw a correctness failure (a missed target does not fail the
 * run); always stops the children and removes its temporary directory.
 *
 * Default concurrency: 32 requests in flight over 16 keep-alive connections (or HTTP/2 sessions).
 * On the 2-core machine Keyhold's single event loop is saturated from 16 in flight on, and more in
 * flight only adds queueing latency; with twice as many requests as sockets the next request is
 * always queued, so no connection idles between a response and the next send.
 *
 * On a small machine the load generator competes with the server for CPU: each phase reports the
 * CPU used by the server, the load generator and everything else ("other", a noise gauge), so a
 * contaminated run is visible. Compare figures from --repeat runs (median) or several invocations.
 * BENCH_SERVER_NODE_ARGS passes extra node flags to the servers, e.g. '--cpu-prof --cpu-prof-dir=DIR'.
 *
 * Over 300 lines on purpose: this is the benchmark's script, read top to bottom (flags, child tracking and
 * clean-up, the main sequence over the matrix, the results document); every part with a job of its own
 * lives in its own module (matrix, servers, phase, checks, results, report).
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkBaseline, checkKeyhold, sealSamples } from './checks.js';
import { REPO_DIR, stopChild } from './children.js';
import { LATE_MS } from './load.js';
import { benchmarkMatrix, serverKey, transportKey, type Variant } from './matrix.js';
import type { KeyholdInfo } from './protocol.js';
import { LoadGenerator, runPhase, type PhaseConfig, type PhaseResult, type PhaseTarget } from './phase.js';
import { writeReport } from './report.js';
import {
  cellRecord,
  evaluateTargets,
  fixedRateFigures,
  medianRun,
  printSummary,
  saturationFigures,
  warningsFor,
  type BaselineMeasurement,
  type CellMeasurement,
  type CellRecord,
  type StartupRecord,
} from './results.js';
import {
  prepareDataset,
  softHsmMissing,
  startBaseline,
  startKeyhold,
  type BaselineServer,
  type KeyholdServer,
  type PreparedDataset,
} from './servers.js';
import { committedBenchmarks, committedRatios, regressionWarnings } from './regression.js';
import { round } from './stats.js';
import { AAD_BYTES, keyPath, OPERATIONS, PLAINTEXT_BYTES, preparePool, type Operation } from './xks-requests.js';

// ---------------------------------------------------------------------------------------------- options

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rate: { type: 'string', default: '1800' },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string' },
    pool: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    out: { type: 'string', default: 'bench-results.json' },
    quick: { type: 'boolean', default: false },
    hsm: { type: 'boolean', default: false },
    workers: { type: 'string', default: '2' },
    variants: { type: 'string' },
    operations: { type: 'string' },
    report: { type: 'boolean', default: false },
    'audit-mode': { type: 'string', default: 'durable' },
    'audit-sync': { type: 'string', default: 'full' },
    'request-log': { type: 'string' },
    'pin-loadgen': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  console.log(`usage: npm run bench -- [options]
  --duration S      measured seconds per phase (default: 5 for saturation, 6 for fixed rate; 1 with --quick)
  --warmup S        warm-up seconds before each phase (default 1; 0.25 with --quick)
  --rate N          fixed-rate phases: requests per second (default 1800, the default XKS TPS quota)
  --concurrency N   saturation phases: requests in flight (default 32)
  --connections N   keep-alive connections or HTTP/2 sessions (default: concurrency / 2, i.e. 16)
  --pool N          distinct pre-signed requests per phase (default 256; 64 with --quick)
  --repeat N        run each cell's saturation phases N times, alternating with the baseline's, and
                    report the median run, ignoring runs disturbed by other processes if any run was
                    not (default 1; use 3 or 5 on a noisy machine before comparing figures)
  --out FILE        JSON results (default bench-results.json)
  --quick           short smoke run for CI: every cell, briefly
  --hsm             also the SoftHSMv2 root of trust in keys mode (needs softhsm2)
  --workers N       the workers-N variant: \`keyhold serve --workers N\` (default 2; 1 leaves it out)
  --variants LIST   only these variants, comma-separated (e.g. default,http2; names in bench/matrix.ts)
  --operations LIST only these operations, comma-separated (e.g. Encrypt,Decrypt)
  --report          afterwards, regenerate docs/bench/latency.svg and BENCHMARKS.md from the results
  --audit-mode M    Keyhold's audit log: durable (default, as \`serve\`), fail-closed or lossy
  --audit-sync S    SQLite audit commits: full (default, as \`serve\`) or normal
  --request-log W   XKS requests logged: errors or all (default: as \`serve\`, errors unless --audit-mode lossy)
  --pin-loadgen CPU run the load generator on that core only (taskset), e.g. 1: the servers get the others`);
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

const quick = flags.quick;
const concurrency = Math.round(positive('concurrency', flags.concurrency, 32));
const config: PhaseConfig = {
  warmupS: positive('warmup', flags.warmup, quick ? 0.25 : 1, true),
  saturationS: positive('duration', flags.duration, quick ? 1 : 5),
  fixedRateS: positive('duration', flags.duration, quick ? 1 : 6),
  rate: positive('rate', flags.rate, 1800),
  concurrency,
  connections: Math.round(positive('connections', flags.connections, Math.max(1, Math.round(concurrency / 2)))),
  drainMs: 2000,
  /** Parse and check every N-th 200 body in the load generator (the rest: status only). */
  checkEvery: 16,
};
const poolSize = Math.round(positive('pool', flags.pool, quick ? 64 : 256));
const repeat = Math.round(positive('repeat', flags.repeat, 1));
const audit = { mode: flags['audit-mode'], sync: flags['audit-sync'], requestLog: flags['request-log'] };
const outFile = resolve(flags.out);

// ---------------------------------------------------------------------------------------------- state

const failures: string[] = [];
/** Running children (servers, the current load generator), stopped on exit. */
const children: ChildProcess[] = [];
const track = (child: ChildProcess) => {
  children.push(child);
  child.once('exit', () => children.includes(child) && children.splice(children.indexOf(child), 1));
};
const tempDir = mkdtempSync(join(tmpdir(), 'keyhold-bench-'));
let cleanedUp: Promise<void> | undefined;
let interrupted = false;
/** Read through a call: a signal handler sets it, which TypeScript's narrowing of `interrupted` cannot see. */
const wasInterrupted = () => interrupted;

/** Stops the children and removes the temporary directory; every caller waits for the same work. */
function cleanup(): Promise<void> {
  cleanedUp ??= (async () => {
    await Promise.all([...children].map((child) => stopChild(child)));
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

// ---------------------------------------------------------------------------------------------- targets

/** `count` ids spread evenly over `ids`, so a pool touches many different keys. */
function spread(ids: string[], count: number): string[] {
  if (ids.length <= count) return ids;
  const step = ids.length / count;
  return Array.from({ length: count }, (_, i) => ids[Math.floor(i * step)]!);
}

function keyholdTarget(variant: Variant, operation: Operation, server: KeyholdServer): PhaseTarget {
  const { info } = server;
  const keyIds = spread(info.keyIds, poolSize);
  const host = `127.0.0.1:${server.port}`;
  const endpoint = { port: server.port, ca: server.ca };
  return {
    server: 'keyhold',
    label: `${variant.name} ${operation}`,
    operation,
    protocol: variant.protocol,
    connection: variant.connection,
    pid: server.child.pid,
    port: server.port,
    ca: server.ca,
    pool: async () =>
      preparePool({
        operation,
        host,
        uriPath: info.uriPath,
        credential: info.credential,
        size: poolSize,
        keyIds,
        sealed:
          operation === 'Decrypt'
            ? await sealSamples(endpoint, { uriPath: info.uriPath, keyIds, credential: info.credential, count: poolSize })
            : undefined,
      }),
    check: () => checkKeyhold(endpoint, info.uriPath, keyIds[keyIds.length - 1]!, info.credential),
  };
}

function baselineTarget(variant: Variant, operation: Operation, baseline: BaselineServer, like: KeyholdServer): PhaseTarget {
  // The same paths, bodies and signatures as Keyhold's requests (the baseline ignores the signatures).
  const { info } = like;
  const keyIds = spread(info.keyIds, poolSize);
  const endpoint = { port: baseline.port, ca: baseline.ca };
  return {
    server: 'baseline',
    label: `${variant.protocol} ${variant.connection} ${operation}`,
    operation,
    protocol: variant.protocol,
    connection: variant.connection,
    pid: baseline.child.pid,
    port: baseline.port,
    ca: baseline.ca,
    pool: async () =>
      preparePool({
        operation,
        host: `127.0.0.1:${baseline.port}`,
        uriPath: info.uriPath,
        credential: info.credential,
        size: poolSize,
        keyIds,
        sealed:
          operation === 'Decrypt'
            ? await sealSamples(endpoint, { uriPath: info.uriPath, keyIds, credential: info.credential, count: poolSize })
            : undefined,
      }),
    check: () => checkBaseline(endpoint, keyPath(info.uriPath, keyIds[0]!, 'encrypt'), baseline.aesKey),
  };
}

// ---------------------------------------------------------------------------------------------- main

function gitCommit(): { commit?: string; dirty?: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return {};
  }
}

/** Runs of consecutive variants that share one Keyhold server. */
function byServer(variants: Variant[]): Variant[][] {
  const groups: Variant[][] = [];
  for (const variant of variants) {
    const last = groups[groups.length - 1];
    if (last && serverKey(last[0]!) === serverKey(variant)) last.push(variant);
    else groups.push([variant]);
  }
  return groups;
}

async function main(): Promise<number> {
  const missing = flags.hsm ? softHsmMissing() : undefined;
  if (missing) throw new Error(missing);
  const only = flags.variants
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const onlyOps = flags.operations
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const variants = benchmarkMatrix({ hsm: flags.hsm, workers: Math.round(positive('workers', flags.workers, 2)) })
    .filter((variant) => !only || only.includes(variant.name))
    .map((variant) => (onlyOps ? { ...variant, operations: variant.operations.filter((op) => onlyOps.includes(op)) } : variant))
    .filter((variant) => variant.operations.length > 0);
  if (variants.length === 0) {
    console.error(`--variants ${flags.variants}: no such variant (see bench/matrix.ts)`);
    process.exit(2);
  }
  const cellCount = variants.reduce((n, v) => n + v.operations.length, 0);
  console.log(
    `Keyhold XKS benchmark: ${cellCount} cells (${variants.map((v) => v.name).join(', ')}); per phase warm-up ${config.warmupS} s, ` +
      `saturation ${config.saturationS} s at ${config.concurrency} in flight over ${config.connections} connections, fixed rate ${config.rate}/s for ${config.fixedRateS} s`,
  );

  const datasets = [...new Map(variants.map((v) => [v.dataset.name, v.dataset])).values()];
  const prepared = new Map<string, PreparedDataset>();
  for (const dataset of datasets) {
    const ready = await prepareDataset(dataset, tempDir, track);
    prepared.set(dataset.name, ready);
    console.log(
      `  data directory ${dataset.name}: ${dataset.keys} keys, ${dataset.root} root (init ${round(ready.initMs, 0)} ms, seeding ${round(ready.seedMs, 0)} ms)`,
    );
  }
  const first = prepared.get(datasets[0]!.name)!;
  const firstInfo = JSON.parse(readFileSync(first.infoFile, 'utf8')) as KeyholdInfo;
  const baseline = await startBaseline(firstInfo.certPath, firstInfo.keyPath, track);
  console.log(`  baseline on :${baseline.port} (pid ${baseline.child.pid})`);

  const startup: StartupRecord[] = [];
  const baselines = new Map<string, BaselineMeasurement>();
  const cells: CellMeasurement[] = [];
  const phases: PhaseResult[] = [];
  const logFiles: string[] = [];
  const loadGenerator = new LoadGenerator(flags['pin-loadgen']);
  track(loadGenerator.child);
  const context = { failures, loadGenerator };

  for (const group of byServer(variants)) {
    const variant = group[0]!;
    const data = prepared.get(variant.dataset.name)!;
    const logFile = join(tempDir, `keyhold-${serverKey(variant).replace(/\W+/g, '-')}.log`);
    logFiles.push(logFile);
    const server = await startKeyhold(variant, data, { audit, logFile, track });
    startup.push({
      dataset: variant.dataset.name,
      keys: variant.dataset.keys,
      root: variant.dataset.root,
      server: serverKey(variant),
      init_ms: round(data.initMs, 1),
      seed_ms: round(data.seedMs, 1),
      process_to_ready_ms: round(server.processToReadyMs, 1),
      start_node_ms: server.startNodeMs === undefined ? undefined : round(server.startNodeMs, 1),
    });
    console.log(
      `\n  keyhold (${serverKey(variant)}) on :${server.port} (pid ${server.child.pid}): serving ${round(server.processToReadyMs, 0)} ms after spawn` +
        (server.startNodeMs === undefined ? '' : `, startNode() ${round(server.startNodeMs, 0)} ms`),
    );
    try {
      for (const v of group) {
        for (const operation of v.operations) {
          const key = transportKey(v.protocol, v.connection, operation);
          const known = baselines.get(key);
          const keyhold = keyholdTarget(v, operation, server);
          const bare = baselineTarget(v, operation, baseline, server);
          const keyholdRuns: PhaseResult[] = [];
          const baselineRuns: PhaseResult[] = [];
          for (let i = 1; i <= repeat; i++) {
            const run = repeat > 1 ? i : undefined;
            if (!known) baselineRuns.push(await runPhase(bare, 'saturation', config, { ...context, run }));
            keyholdRuns.push(await runPhase(keyhold, 'saturation', config, { ...context, run }));
          }
          const fixed = await runPhase(keyhold, 'fixed-rate', config, context);
          const measured = known ?? {
            saturationRuns: baselineRuns,
            saturation: medianRun(baselineRuns),
            fixed: await runPhase(bare, 'fixed-rate', config, context),
          };
          if (!known) {
            baselines.set(key, measured);
            phases.push(...baselineRuns, measured.fixed);
          }
          phases.push(...keyholdRuns, fixed);
          cells.push({ variant: v, operation, saturationRuns: keyholdRuns, saturation: medianRun(keyholdRuns), fixed, baseline: measured });
        }
      }
    } finally {
      await stopChild(server.child);
    }
  }
  await loadGenerator.stop();

  const cellRecords: CellRecord[] = cells.map((c) => cellRecord(c, config.rate));
  const targets = evaluateTargets(cellRecords, startup);
  const committed = committedBenchmarks(REPO_DIR);
  const warnings = [...warningsFor(phases, LATE_MS), ...(committed ? regressionWarnings(cellRecords, committedRatios(committed)) : [])];
  const results = buildResults(cells, cellRecords, baselines, startup, targets, warnings, phases, logFiles);
  writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');

  printSummary(cellRecords, startup, targets, config.rate);
  if (warnings.length > 0) console.log(`\nWARNING ${warnings.join('\nWARNING ')}`);
  console.log(`\nResults written to ${outFile}`);
  if (flags.report) {
    const written = await writeReport(results);
    console.log(`Report written: ${written.join(', ')}`);
  }
  if (failures.length > 0) {
    console.error(`\nCORRECTNESS FAILURES:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  return 0;
}

function buildResults(
  cells: CellMeasurement[],
  records: CellRecord[],
  baselines: Map<string, BaselineMeasurement>,
  startup: StartupRecord[],
  targets: ReturnType<typeof evaluateTargets>,
  warnings: string[],
  phases: PhaseResult[],
  logFiles: string[],
) {
  // The first benchmark's fields: the default cell's Encrypt, and the HSM variant's Encrypt.
  const main = cells.find((c) => c.variant.name === 'default' && c.operation === 'Encrypt');
  const hsm = cells.find((c) => c.variant.dataset.root === 'hsm' && c.variant.connection === 'keep-alive' && c.operation === 'Encrypt');
  const cpu = cpus();
  return {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpu.length,
      cpu_model: cpu[0]?.model,
      git: gitCommit(),
      quick,
      audit_mode: audit.mode,
      audit_sync: audit.sync,
      request_log: audit.requestLog ?? (audit.mode === 'lossy' ? 'all' : 'errors'),
      loadgen_pinned_cpu: flags['pin-loadgen'] ?? null,
      durations: { warmup_s: config.warmupS, saturation_s: config.saturationS, fixed_rate_s: config.fixedRateS },
      saturation_repeats: repeat,
      concurrency: config.concurrency,
      connections: config.connections,
      rate: config.rate,
      operations: OPERATIONS,
      request: { operation: 'Encrypt', plaintext_bytes: PLAINTEXT_BYTES, aad_bytes: AAD_BYTES, pool_size: poolSize },
      transport: {
        protocol: 'HTTP/1.1 keep-alive',
        tls: main?.saturation.tls ?? null,
        client: 'node:https Agent / node:http2 sessions, separate process',
      },
      keyhold_log_bytes: logFiles.reduce((sum, file) => sum + (statSync(file, { throwIfNoEntry: false })?.size ?? 0), 0),
    },
    ...(main
      ? {
          baseline: {
            saturation_rps: main.baseline.saturation.rps,
            saturation: { ...saturationFigures(main.baseline.saturation), runs_rps: main.baseline.saturationRuns.map((r) => r.rps) },
            fixed_rate: fixedRateFigures(main.baseline.fixed, config.rate),
          },
          keyhold: {
            saturation_rps: main.saturation.rps,
            ratio_to_baseline: round(main.saturation.rps / main.baseline.saturation.rps, 3),
            saturation: { ...saturationFigures(main.saturation), runs_rps: main.saturationRuns.map((r) => r.rps) },
            fixed_rate: fixedRateFigures(main.fixed, config.rate),
          },
        }
      : {}),
    ...(hsm && main
      ? {
          keyhold_hsm: {
            root_of_trust: 'pkcs11 keys mode, SoftHSMv2 (every AES-GCM inside the HSM)',
            saturation_rps: hsm.saturation.rps,
            ratio_to_baseline: round(hsm.saturation.rps / hsm.baseline.saturation.rps, 3),
            ratio_to_software_root: round(hsm.saturation.rps / main.saturation.rps, 3),
            saturation: { ...saturationFigures(hsm.saturation), runs_rps: hsm.saturationRuns.map((r) => r.rps) },
            fixed_rate: fixedRateFigures(hsm.fixed, config.rate),
          },
        }
      : {}),
    cells: records,
    baseline_cells: [...baselines.entries()].map(([key, b]) => {
      const [protocol, connection, operation] = key.split('/');
      return {
        protocol: protocol === 'h2' ? 'HTTP/2' : 'HTTP/1.1',
        connection,
        operation,
        saturation_rps: b.saturation.rps,
        saturation: { ...saturationFigures(b.saturation), runs_rps: b.saturationRuns.map((r) => r.rps) },
        fixed_rate: fixedRateFigures(b.fixed, config.rate),
      };
    }),
    startup,
    targets,
    failures,
    warnings,
    phases,
  };
}

export type BenchResults = ReturnType<typeof buildResults>;

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  if (!wasInterrupted()) console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await cleanup();
}
process.exit(wasInterrupted() ? 130 : exitCode);
