/**
 * A backup's effect on XKS latency (issue 13: "no pause in XKS traffic measurable in the benchmark"), loopback
 * only, bounded in time. A `keyhold serve` node on a data directory of --keys keys (seeded as the benchmark
 * seeds them), open-loop signed Encrypt at --rate requests/s for --duration s (bench/load.ts, its own process),
 * and one `keyhold backup create` started --backup-at s into the measured window. Prints p50 / p99 / p99.9 /
 * max and errors for the windows before, during and after the backup (by each request's scheduled time), and
 * the backup's duration.
 *
 *   npm run build && node --import tsx bench/backup-under-load.ts
 *   options: --keys 100000 --rate 1800 --duration 60 --backup-at 20 --via database|api --workers N --out FILE
 *            --cpu-share F (passed to `backup create`, direct path only) --timeline (p50/p99/max per second)
 *
 * --via database (default): the command reads the database itself, in its own process, beside the node.
 * --via api: `backup create --api`, the node takes the snapshot (worker thread) and answers the file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMessageOfType, REPO_DIR, stopChild } from './children.js';
import type { FixedRateSamples, LoadJob, LoadResult } from './load.js';
import { LoadGenerator } from './phase.js';
import { prepareDataset, startKeyhold } from './servers.js';
import { percentile, round } from './stats.js';
import { preparePool } from './xks-requests.js';

const { values: flags } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '1800' },
    duration: { type: 'string', default: '60' },
    'backup-at': { type: 'string', default: '20' },
    via: { type: 'string', default: 'database' },
    workers: { type: 'string', default: '1' },
    out: { type: 'string' },
    'cpu-share': { type: 'string' },
    timeline: { type: 'boolean', default: false },
  },
});
const KEYS = Number(flags.keys);
const RATE = Number(flags.rate);
const DURATION_S = Number(flags.duration);
const BACKUP_AT_S = Number(flags['backup-at']);
const WORKERS = Number(flags.workers);
const VIA = flags.via === 'api' ? 'api' : 'database';
if (![KEYS, RATE, DURATION_S, BACKUP_AT_S, WORKERS].every((n) => Number.isFinite(n) && n > 0) || BACKUP_AT_S >= DURATION_S) {
  console.error('--keys, --rate, --duration, --backup-at and --workers must be positive numbers, --backup-at below --duration');
  process.exit(2);
}
const WARMUP_MS = 3_000;

const children = new Set<ChildProcess>();
const track = (child: ChildProcess) => {
  children.add(child);
  child.once('exit', () => children.delete(child));
};
const work = mkdtempSync(join(tmpdir(), 'keyhold-backup-load-'));

/** Runs `keyhold backup create` once; resolves with its wall-clock start and end (epoch ms). */
function runBackup(dataDir: string): Promise<{ startedAt: number; endedAt: number; code: number | null; stderr: string }> {
  const passphraseFile = join(work, 'passphrase');
  writeFileSync(passphraseFile, 'backup under load, a bench passphrase\n', { mode: 0o600 });
  const args = [
    'bin/keyhold.js',
    '--data-dir',
    dataDir,
    'backup',
    'create',
    ...(VIA === 'api' ? ['--api'] : []),
    ...(flags['cpu-share'] !== undefined ? ['--cpu-share', flags['cpu-share']] : []),
    '--out',
    join(work, 'under-load.khb'),
    '--passphrase-file',
    passphraseFile,
  ];
  const startedAt = Date.now();
  const child = spawn(process.execPath, args, { cwd: REPO_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ startedAt, endedAt: Date.now(), code, stderr })));
}

interface WindowFigures {
  window: string;
  requests: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
}

function figures(window: string, samples: FixedRateSamples, inWindow: (at: number) => boolean): WindowFigures {
  const latencies: number[] = [];
  let errors = 0;
  let requests = 0;
  samples.slot.forEach((slot, i) => {
    if (!inWindow(samples.t0EpochMs + slot * samples.intervalMs)) return;
    requests++;
    if (!samples.ok[i]) errors++;
    const latency = samples.latencyMs[i];
    if (latency !== null && latency !== undefined) latencies.push(latency);
  });
  const sorted = Float64Array.from(latencies).sort();
  const at = (p: number) => (sorted.length === 0 ? Number.NaN : round(percentile(sorted, p), 2));
  return { window, requests, errors, p50_ms: at(50), p99_ms: at(99), p999_ms: at(99.9), max_ms: at(100) };
}

/** p50 / p99 / max per second of scheduled time, the backup's seconds marked: where in the backup a pause falls. */
function printTimeline(samples: FixedRateSamples, ran: { startedAt: number; endedAt: number }): void {
  const seconds = new Map<number, number[]>();
  samples.slot.forEach((slot, i) => {
    const latency = samples.latencyMs[i];
    const second = Math.floor((slot * samples.intervalMs) / 1000);
    if (latency !== null && latency !== undefined) (seconds.get(second) ?? seconds.set(second, []).get(second))?.push(latency);
  });
  console.log('\nsecond  p50 ms  p99 ms  max ms   (B: the backup was running)');
  for (const [second, latencies] of [...seconds].sort((a, b) => a[0] - b[0])) {
    const sorted = Float64Array.from(latencies).sort();
    const start = samples.t0EpochMs + second * 1000;
    const during = start + 1000 > ran.startedAt && start <= ran.endedAt ? 'B' : ' ';
    const cells = [50, 99, 100].map((p) => round(percentile(sorted, p), 1).toFixed(1).padStart(7));
    console.log(`${String(second).padStart(6)} ${cells.join(' ')}  ${during}`);
  }
}

async function main(): Promise<void> {
  console.log(`seeding ${KEYS} keys (bench/seed-keys.mjs)…`);
  const prepared = await prepareDataset({ name: `software-${KEYS}`, keys: KEYS, root: 'software' }, work, track);
  const server = await startKeyhold(
    {
      name: 'backup-under-load',
      description: 'keyhold serve under a backup',
      dataset: prepared.dataset,
      server: { kind: 'serve', ...(WORKERS > 1 ? { workers: WORKERS } : {}) },
      protocol: 'h1',
      connection: 'keep-alive',
      operations: ['Encrypt'],
    },
    prepared,
    { audit: { mode: 'durable', sync: 'full' }, logFile: join(work, 'node.log'), track },
  );
  track(server.child);
  const database = statSync(join(prepared.dataDir, 'keyhold.db')).size;
  console.log(
    `node serving on 127.0.0.1:${server.port} (${WORKERS} worker(s)), ${KEYS} keys, database ${(database / 1e6).toFixed(1)} MB; ` +
      `Encrypt at ${RATE}/s for ${DURATION_S} s, backup (--via ${VIA}) at ${BACKUP_AT_S} s`,
  );
  const requests = await preparePool({
    operation: 'Encrypt',
    host: `127.0.0.1:${server.port}`,
    uriPath: server.info.uriPath,
    credential: server.info.credential,
    size: 256,
    keyIds: server.info.keyIds,
  });
  const job: LoadJob = {
    mode: 'fixed-rate',
    protocol: 'h1',
    connection: 'keep-alive',
    port: server.port,
    ca: server.ca,
    requests,
    connections: 16,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_S * 1000,
    drainMs: 2_000,
    rate: RATE,
    maxInFlight: RATE,
    checkEvery: 16,
    keepSamples: true,
  };
  const loadGenerator = new LoadGenerator();
  track(loadGenerator.child);
  let backup: ReturnType<typeof runBackup> | undefined;
  const load1 = loadavg()[0];
  const result = await new Promise<LoadResult>((resolve, reject) => {
    const child = loadGenerator.child;
    child.once('exit', (code) => reject(new Error(`the load generator exited (${code}) before reporting`)));
    child.on('message', (message: unknown) => {
      if (isMessageOfType(message, 'measure-start')) {
        setTimeout(() => {
          backup = runBackup(prepared.dataDir);
        }, BACKUP_AT_S * 1000).unref();
      } else if (isMessageOfType(message, 'result')) {
        resolve((message as unknown as { result: LoadResult }).result);
      }
    });
    child.send({ type: 'job', job });
  });
  const ran = await backup;
  await loadGenerator.stop();
  await stopChild(server.child);
  if (!ran || !result.samples) throw new Error('the backup did not run, or the load generator kept no samples');
  if (ran.code !== 0) throw new Error(`keyhold backup create failed: ${ran.stderr.trim()}`);
  const backupBytes = statSync(join(work, 'under-load.khb')).size;
  const { samples } = result;
  const windows = [
    figures('before', samples, (at) => at < ran.startedAt),
    figures('during', samples, (at) => at >= ran.startedAt && at <= ran.endedAt),
    figures('after', samples, (at) => at > ran.endedAt),
    figures('whole run', samples, () => true),
  ];
  const backupSeconds = round((ran.endedAt - ran.startedAt) / 1000, 2);
  console.log(`\nbackup: ${backupSeconds} s (the whole \`keyhold backup create\` process), file ${(backupBytes / 1e6).toFixed(1)} MB`);
  console.log('window        requests  errors   p50 ms   p99 ms  p99.9 ms   max ms');
  for (const w of windows) {
    console.log(
      `${w.window.padEnd(12)} ${String(w.requests).padStart(9)} ${String(w.errors).padStart(7)} ${[w.p50_ms, w.p99_ms, w.p999_ms, w.max_ms]
        .map((n) => String(n).padStart(8))
        .join(' ')}`,
    );
  }
  if (flags.timeline) printTimeline(samples, ran);
  console.log(
    `achieved ${result.rps} req/s; late ${result.late}, unsent ${result.unsent}, timeouts ${result.timeouts}; load average at the start ${load1?.toFixed(2)}, at the end ${loadavg()[0]?.toFixed(2)}`,
  );
  if (flags.out) {
    const report = { keys: KEYS, rate: RATE, durationS: DURATION_S, via: VIA, workers: WORKERS, backupSeconds, backupBytes, windows };
    writeFileSync(flags.out, `${JSON.stringify(report, null, 2)}\n`);
  }
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
