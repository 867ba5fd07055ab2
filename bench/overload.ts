/**
 * Overload: what KMS sees when it sends a Keyhold node far more than it can serve (docs/throttling.md).
 *
 *   npm run build && node --import tsx bench/overload.ts [--factor 3] [--duration S] [--max-in-flight N] [--shed-after-ms MS] [--shed-on-lag-ms MS] [--connections N] [--h2] [--out FILE]
 *
 * 1. Starts a node (the compiled dist/, durable audit, info logging to a file, as `keyhold serve`) in a
 *    child process, with the throttle settings given (default: serve's defaults).
 * 2. Probes its capacity: closed loop, 32 Encrypts in flight, for --probe seconds.
 * 3. Offers --factor times that rate, open loop, for --duration seconds, over up to --connections (512)
 *    HTTP/1.1 keep-alive connections, more than the node admits at once, so requests pile up at the node
 *    rather than in the client (--h2: over that many HTTP/2 connections instead). Each request's latency
 *    runs from the moment it was sent to its answer: what KMS's 250 ms timer sees.
 * Prints the share of 200 and 429 ThrottlingException (and anything else), latency percentiles of each,
 * how many answers came after 250 ms, and the node's reasons (from its log); writes the figures as JSON (--out). Bounded: loopback only, a few
 * seconds, at most --max-outstanding requests outstanding (beyond that a slot is skipped and counted).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type * as clockModule from '../src/core/clock.js';
import type * as initModule from '../src/server/init.js';
import type * as loggerModule from '../src/server/logger.js';
import type * as nodeModule from '../src/server/node.js';
import { isMessageOfType, stopChild } from './children.js';
import { Http1Client, Http2Client, type Client } from './overload-clients.js';
import { LatencyRecorder, summarize, type LatencySummary } from './stats.js';
import { preparePool } from './xks-requests.js';

const KMS_TIMEOUT_MS = 250;

interface ChildReady {
  type: 'ready';
  port: number;
  certPath: string;
  uriPath: string;
  credential: { accessKeyId: string; secret: string; region: string };
}

// ------------------------------------------------------------------------------------- the node (child)

async function serveChild(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      'data-dir': { type: 'string' },
      'max-in-flight': { type: 'string' },
      'shed-after-ms': { type: 'string' },
      'shed-on-lag-ms': { type: 'string' },
    },
  });
  const dist = (path: string) => new URL(`../dist/${path}`, import.meta.url).href;
  // The compiled modules, typed as their sources.
  const { systemClock } = (await import(dist('core/clock.js'))) as typeof clockModule;
  const { initDataDir } = (await import(dist('server/init.js'))) as typeof initModule;
  const { createLogger, flushLogger } = (await import(dist('server/logger.js'))) as typeof loggerModule;
  const { startNode } = (await import(dist('server/node.js'))) as typeof nodeModule;
  const dataDir = values['data-dir']!;
  const init = await initDataDir({ dataDir, demo: true, clock: systemClock });
  const logger = createLogger({ level: 'info', file: join(dataDir, 'node.log') });
  const throttle = {
    ...(values['max-in-flight'] === undefined ? {} : { maxInFlight: Number(values['max-in-flight']) }),
    ...(values['shed-after-ms'] === undefined ? {} : { shedAfterMs: Number(values['shed-after-ms']) }),
    ...(values['shed-on-lag-ms'] === undefined ? {} : { shedOnLagMs: Number(values['shed-on-lag-ms']) }),
  };
  const node = await startNode({ dataDir, host: '127.0.0.1', port: 0, logger, clock: systemClock, throttle });
  const ready: ChildReady = {
    type: 'ready',
    port: node.port,
    certPath: init.paths.tlsCert,
    uriPath: init.demo!.keystore.uriPath,
    credential: { ...init.demo!.credential, region: init.demo!.keystore.region },
  };
  // The node's own event-loop delay over the whole run (probe included), logged at the end.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  process.send!(ready);
  const stop = () => {
    loopDelay.disable();
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    logger.info(
      { event: 'bench.loop_delay', p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
      'event-loop delay',
    );
    void node
      .close()
      .then(() => flushLogger(logger))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

// --------------------------------------------------------------------------------- the load (parent)

async function probeCapacity(client: Client, concurrency: number, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let ok = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) if ((await client.send()).status === 200) ok += 1;
    }),
  );
  return ok / seconds;
}

interface OverloadResult {
  offeredRps: number;
  sentRps: number;
  skipped: number;
  counts: Record<string, number>;
  latency: Record<string, LatencySummary>;
  answeredAfter250Ms: number;
  sendLagP99Ms: number;
}

/** Open loop: request i is due at t0 + i/rate; each is sent when due (checked every ms) unless too many are outstanding. */
async function overload(client: Client, rate: number, seconds: number, maxOutstanding: number): Promise<OverloadResult> {
  const recorders = new Map<string, LatencyRecorder>();
  const counts: Record<string, number> = {};
  const lags = new LatencyRecorder(rate * seconds);
  let outstanding = 0;
  let sent = 0;
  let skipped = 0;
  let late = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  const total = Math.floor(rate * seconds);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate));
      while (sent + skipped < due) {
        const slot = t0 + ((sent + skipped) / rate) * 1000;
        if (outstanding >= maxOutstanding) {
          skipped += 1;
          continue;
        }
        lags.record(now - slot);
        sent += 1;
        outstanding += 1;
        pending.push(
          client.send().then((outcome) => {
            outstanding -= 1;
            const key = outcome.status === 200 ? '200' : `${outcome.status} ${outcome.errorName ?? ''}`.trim();
            counts[key] = (counts[key] ?? 0) + 1;
            if (outcome.latencyMs > KMS_TIMEOUT_MS) late += 1;
            let recorder = recorders.get(key);
            if (!recorder) recorders.set(key, (recorder = new LatencyRecorder(rate * seconds)));
            recorder.record(outcome.latencyMs);
          }),
        );
      }
      if (sent + skipped >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(pending);
  const lagSummary = summarize(lags);
  return {
    offeredRps: rate,
    sentRps: Math.round(sent / seconds),
    skipped,
    counts,
    latency: Object.fromEntries([...recorders].map(([key, recorder]) => [key, summarize(recorder)])),
    answeredAfter250Ms: late,
    sendLagP99Ms: lagSummary.p99_ms,
  };
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      factor: { type: 'string', default: '3' },
      probe: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      connections: { type: 'string', default: '512' },
      h2: { type: 'boolean', default: false },
      'max-outstanding': { type: 'string', default: '20000' },
      'max-in-flight': { type: 'string' },
      'shed-after-ms': { type: 'string' },
      'shed-on-lag-ms': { type: 'string' },
      out: { type: 'string', default: 'overload-results.json' },
    },
  });
  const number = (name: string, value: string, max: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number above 0 and at most ${max}`);
    return n;
  };
  const factor = number('factor', flags.factor, 10);
  const probeS = number('probe', flags.probe, 30);
  const durationS = number('duration', flags.duration, 30);
  const connections = Math.round(number('connections', flags.connections, 4096));
  const maxOutstanding = Math.round(number('max-outstanding', flags['max-outstanding'], 100_000));

  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-overload-'));
  const throttleArgs = [
    ...(flags['max-in-flight'] === undefined ? [] : ['--max-in-flight', flags['max-in-flight']]),
    ...(flags['shed-after-ms'] === undefined ? [] : ['--shed-after-ms', flags['shed-after-ms']]),
    ...(flags['shed-on-lag-ms'] === undefined ? [] : ['--shed-on-lag-ms', flags['shed-on-lag-ms']]),
  ];
  const child = fork(fileURLToPath(import.meta.url), ['--child', '--data-dir', dataDir, ...throttleArgs], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await new Promise<ChildReady>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the node exited (code ${code}) before it was ready`)));
      // The child's ready message (below, in child mode).
      child.on('message', (message: unknown) => isMessageOfType(message, 'ready') && resolve(message as ChildReady));
    });
    const host = `localhost:${ready.port}`;
    const pool = await preparePool({
      operation: 'Encrypt',
      host,
      uriPath: ready.uriPath,
      credential: ready.credential,
      size: 512,
      keyIds: ['demo-key'],
    });
    const ca = readFileSync(ready.certPath);
    const client: Client = flags.h2
      ? new Http2Client(`https://${host}`, ca, connections, pool)
      : new Http1Client(ca, connections, ready.port, pool);
    const transport = flags.h2 ? `${connections} HTTP/2 connections` : `up to ${connections} HTTP/1.1 keep-alive connections`;
    try {
      const capacity = await probeCapacity(client, 32, probeS);
      const rate = Math.round(capacity * factor);
      console.log(
        `capacity (closed loop, 32 in flight, ${probeS} s): ${Math.round(capacity)} Encrypt/s; offering ${rate}/s (${factor}x) for ${durationS} s over ${transport}`,
      );
      const result = await overload(client, rate, durationS, maxOutstanding);
      const answered = Object.values(result.counts).reduce((a, b) => a + b, 0);
      console.log(`sent ${result.sentRps}/s (skipped ${result.skipped}; client send lag p99 ${result.sendLagP99Ms} ms)`);
      for (const [key, count] of Object.entries(result.counts).sort()) {
        const l = result.latency[key]!;
        console.log(
          `  ${key.padEnd(26)} ${String(count).padStart(7)}  ${((100 * count) / answered).toFixed(1).padStart(5)} %   p50 ${l.p50_ms}  p99 ${l.p99_ms}  p99.9 ${l.p999_ms}  max ${l.max_ms} ms`,
        );
      }
      console.log(`answered after ${KMS_TIMEOUT_MS} ms: ${result.answeredAfter250Ms} of ${answered}`);
      writeFileSync(
        flags.out,
        JSON.stringify({ capacityRps: Math.round(capacity), factor, durationS, transport, throttle: throttleArgs, ...result }, null, 2) +
          '\n',
      );
    } finally {
      client.close();
    }
  } finally {
    await stopChild(child, 5000);
    printNodeView(join(dataDir, 'node.log'));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * From the node's log: why it throttled (`reason` starts with quota:, concurrency:, queue-time: or overload:), and
 * its own view of latency per status: from handler entry to the log line, which is written just before
 * the audit commit. It leaves out the time a request waited before the handler saw it (socket buffers,
 * TLS, a busy event loop), the audit commit, and the time its answer took to leave.
 */
function printNodeView(logFile: string): void {
  const reasons: Record<string, number> = {};
  const latencies = new Map<number, LatencyRecorder>();
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return;
  }
  for (const line of text.split('\n')) {
    if (line.includes('"bench.loop_delay"')) {
      const { p50, p99, max } = JSON.parse(line) as { p50: number; p99: number; max: number };
      console.log(`node's event-loop delay (whole run): p50 ${p50}  p99 ${p99}  max ${max} ms`);
    }
    if (!line.includes('"xks.request"')) continue;
    const entry = JSON.parse(line) as { status?: number; errorName?: string; reason?: string; latencyMs?: number };
    if (entry.status === undefined || entry.latencyMs === undefined) continue;
    let recorder = latencies.get(entry.status);
    if (!recorder) latencies.set(entry.status, (recorder = new LatencyRecorder(1024)));
    recorder.record(entry.latencyMs);
    if (entry.errorName === 'ThrottlingException') {
      const reason = String(entry.reason ?? '').split(':')[0]!;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
  }
  console.log(`node's throttle reasons: ${JSON.stringify(reasons)}`);
  for (const [status, recorder] of [...latencies].sort((a, b) => a[0] - b[0])) {
    const l = summarize(recorder);
    console.log(
      `node's own latency (handler entry to log line, before the audit commit), ${status}: p50 ${l.p50_ms}  p99 ${l.p99_ms}  max ${l.max_ms} ms (${l.count} requests, probe included)`,
    );
  }
}

if (process.argv[2] === '--child') await serveChild();
else await main();
