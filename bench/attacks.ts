/**
 * Transport attacks against one `keyhold serve` while it serves normal traffic (docs/security.md#attack-benchmark).
 *
 *   npm run build && node --import tsx bench/attacks.ts [--quick] [--rate 1800] [--measure S] [--idle N] [--only 'idle TCP,slow body'] [--out FILE]
 *
 * 1. Starts `keyhold serve` (the compiled build, its default limits, durable audit log) on 127.0.0.1, on a demo
 *    data directory with 10 keys (servers.ts, as the benchmark does).
 * 2. Runs signed Encrypt traffic open-loop at --rate (1,800/s) over 16 HTTP/1.1 keep-alive connections from the
 *    load generator process (load.ts, latency from each request's scheduled slot), for a baseline window and then
 *    during each attack in turn (attack-clients.ts): slow headers, slow body, idle TLS and idle TCP connections
 *    (--idle, 10,000), oversized headers, too many header fields, HTTP/2 rapid reset, TLS renegotiation.
 * 3. Per window: normal traffic's achieved rate, p50/p99/p99.9, errors; the node's RSS and open file descriptors
 *    (/proc/<pid>/status and /proc/<pid>/fd, sampled every 250 ms: peak and at the end); how the attack's
 *    connections ended (ended by the server after how long, and what it sent first) or what its attempts got.
 * Bounded: loopback only, each attack held ~14 s after it is set up (--quick: ~4 s), the whole run well under 5 minutes; every child is
 * stopped at the end. 10,000 connections need as many file descriptors in the node and in this process: the run
 * re-executes itself under `ulimit -n` raised within the hard limit, and says so when the hard limit is too low.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  idleTcp,
  idleTls,
  manyHeaderFields,
  oversizedHeaders,
  rapidReset,
  renegotiation,
  slowBody,
  slowHeaders,
  type Attack,
  type AttackReport,
  type AttackTarget,
} from './attack-clients.js';
import { checkKeyhold } from './checks.js';
import { isMessageOfType, stopChild } from './children.js';
import type { LoadJob, LoadResult } from './load.js';
import { TEN_KEYS, type Variant } from './matrix.js';
import { LoadGenerator } from './phase.js';
import { prepareDataset, startKeyhold, type KeyholdServer } from './servers.js';
import { preparePool } from './xks-requests.js';

const RAISED_ENV = 'KEYHOLD_ATTACKS_FD_LIMIT';

/** The soft and hard limits on open files of a shell started from here (what children inherit). */
function fileLimits(): { soft: number; hard: number } {
  const out = spawnSync('bash', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).stdout.trim().split('\n');
  const parse = (value: string | undefined) => (value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value));
  return { soft: parse(out[0]), hard: parse(out[1]) };
}

/**
 * Makes sure the node and this process may hold `needed` descriptors each: when the soft limit is lower and the
 * hard one allows it, runs this script again under `ulimit -n` (children inherit it) and exits with its status.
 * Returns how many idle connections can be opened, and a line saying what limited them.
 */
function ensureFileLimit(idle: number): { idle: number; note: string } {
  const needed = idle + 2_000;
  const { soft, hard } = fileLimits();
  if (soft >= needed) return { idle, note: `open-file limit ${soft} (hard ${hard}): enough for ${idle} idle connections` };
  if (hard >= needed && process.env[RAISED_ENV] === undefined) {
    const raised = Math.min(hard, Math.max(needed, 30_000));
    console.log(`raising the open-file limit from ${soft} to ${raised} (hard ${hard}) and starting again`);
    const run = spawnSync(
      'bash',
      ['-c', `ulimit -n ${raised} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
      {
        stdio: 'inherit',
        env: { ...process.env, [RAISED_ENV]: String(raised) },
      },
    );
    process.exit(run.status ?? 1);
  }
  const possible = Math.max(0, Math.min(soft, hard) - 2_000);
  return {
    idle: possible,
    note: `LIMITED: open-file limit ${soft} (hard ${hard}) allows ${possible} idle connections, not ${idle}`,
  };
}

interface NodeSample {
  rssMb: number;
  fds: number;
}

function sampleNode(pid: number): NodeSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return { rssMb: Math.round(rssKb / 102.4) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/** Samples the node every 250 ms until stopped: the peak and the last values. */
function watchNode(pid: number): () => { peak: NodeSample; last: NodeSample } {
  const peak: NodeSample = { rssMb: 0, fds: 0 };
  let last: NodeSample = { rssMb: 0, fds: 0 };
  const take = () => {
    const sample = sampleNode(pid);
    if (!sample) return;
    last = sample;
    peak.rssMb = Math.max(peak.rssMb, sample.rssMb);
    peak.fds = Math.max(peak.fds, sample.fds);
  };
  take();
  const timer = setInterval(take, 250);
  return () => {
    clearInterval(timer);
    take();
    return { peak, last };
  };
}

function runLoad(generator: LoadGenerator, job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = generator.child;
    const onMessage = (message: unknown) => {
      if (!isMessageOfType(message, 'result')) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      // load.ts sends { type: 'result', result }.
      resolve((message as unknown as { result: LoadResult }).result);
    };
    const onExit = (code: number | null) => reject(new Error(`the load generator exited (code ${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type: 'job', job });
  });
}

interface WindowResult {
  window: string;
  what: string;
  /** Setting the attack up (opening its connections), ms. */
  setupMs: number;
  traffic: Pick<LoadResult, 'rps' | 'ok' | 'errors' | 'timeouts' | 'unsent' | 'late' | 'latency' | 'statusCounts' | 'firstProblem'>;
  node: { before: NodeSample; peak: NodeSample; atEnd: NodeSample };
  attack?: AttackReport;
  loadAverage: number[];
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rate: { type: 'string', default: '1800' },
      measure: { type: 'string' },
      idle: { type: 'string', default: '10000' },
      only: { type: 'string' },
      out: { type: 'string', default: 'attack-results.json' },
    },
  });
  const number = (name: string, value: string, max: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number above 0 and at most ${max}`);
    return n;
  };
  const quick = flags.quick;
  const rate = number('rate', flags.rate, 10_000);
  const measureS = number('measure', flags.measure ?? (quick ? '2' : '8'), 30);
  /** Each attack is held at least this long (its measured window included), so the limits' cuts show. */
  const holdS = quick ? 4 : 14;
  const limits = ensureFileLimit(Math.round(number('idle', flags.idle, 100_000)) / (quick ? 10 : 1));
  console.log(limits.note);

  const attacks: Attack[] = [
    slowHeaders(quick ? 50 : 500),
    slowBody(quick ? 50 : 500),
    idleTls(limits.idle),
    idleTcp(limits.idle),
    oversizedHeaders(quick ? 4 : 20, 20_000),
    manyHeaderFields(quick ? 4 : 20, 150),
    rapidReset(quick ? 2 : 8, 5_000),
    renegotiation(quick ? 4 : 20),
  ];

  const tempDir = mkdtempSync(join(tmpdir(), 'keyhold-attacks-'));
  const children: ChildProcess[] = [];
  const track = (child: ChildProcess) => children.push(child);
  let generator: LoadGenerator | undefined;
  try {
    const prepared = await prepareDataset(TEN_KEYS, tempDir, track);
    const variant: Variant = {
      name: 'attacks',
      description: 'keyhold serve under transport attacks',
      dataset: TEN_KEYS,
      server: { kind: 'serve' },
      protocol: 'h1',
      connection: 'keep-alive',
      operations: ['Encrypt'],
    };
    const server: KeyholdServer = await startKeyhold(variant, prepared, {
      audit: { mode: 'durable', sync: 'full' },
      logFile: join(tempDir, 'serve.log'),
      track,
    });
    const pid = server.child.pid!;
    const target: AttackTarget = { port: server.port, ca: server.ca };
    // A node that does not serve cannot produce figures: Encrypt → Decrypt round trip, and a bad signature refused.
    // A busy machine can get a 429 (queue-time shedding) at first: a few tries, a second apart.
    let problems: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      problems = await checkKeyhold(target, server.info.uriPath, server.info.keyIds[0]!, server.info.credential);
      if (problems.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    if (problems.length > 0) throw new Error(`the node does not serve correctly: ${problems.join('; ')}`);
    generator = new LoadGenerator();
    track(generator.child);
    console.log(
      `keyhold serve pid ${pid} on 127.0.0.1:${server.port}; Encrypt at ${rate}/s open loop over 16 HTTP/1.1 keep-alive connections, ` +
        `${measureS} s measured per window (after 1 s warm-up); load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );

    const results: WindowResult[] = [];
    const window = async (name: string, what: string, attack?: Attack): Promise<void> => {
      const before = sampleNode(pid) ?? { rssMb: 0, fds: 0 };
      const stopWatching = watchNode(pid);
      const startedAt = performance.now();
      await attack?.start(target);
      const setupMs = Math.round(performance.now() - startedAt);
      const requests = await preparePool({
        operation: 'Encrypt',
        host: `localhost:${server.port}`,
        uriPath: server.info.uriPath,
        credential: server.info.credential,
        size: 512,
        keyIds: server.info.keyIds,
      });
      const load = await runLoad(generator!, {
        mode: 'fixed-rate',
        protocol: 'h1',
        connection: 'keep-alive',
        port: server.port,
        ca: server.ca,
        requests,
        connections: 16,
        warmupMs: 1_000,
        durationMs: measureS * 1000,
        drainMs: 2_000,
        rate,
        checkEvery: 50,
      });
      // Hold the attack until its total time reaches holdS, so that limits of ~10 s have their say.
      const heldMs = performance.now() - startedAt - setupMs;
      if (attack && heldMs < holdS * 1000) await new Promise((resolve) => setTimeout(resolve, holdS * 1000 - heldMs));
      const report = await attack?.stop();
      const { peak, last } = stopWatching();
      const { rps, ok, errors, timeouts, unsent, late, latency, statusCounts, firstProblem } = load;
      const result: WindowResult = {
        window: name,
        what,
        setupMs,
        traffic: { rps, ok, errors, timeouts, unsent, late, latency, statusCounts, firstProblem },
        node: { before, peak, atEnd: last },
        attack: report,
        loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
      };
      results.push(result);
      printWindow(result);
      // Let the node drop what the attack left before the next window.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    };

    const only = flags.only?.split(',').map((name) => name.trim());
    await window('baseline', 'no attack');
    for (const attack of attacks) if (!only || only.includes(attack.name)) await window(attack.name, attack.what, attack);
    // The node after the attacks: back to the baseline's figures, or not.
    await window('after', 'no attack, after the attacks');

    writeFileSync(
      flags.out,
      JSON.stringify({ rate, measureS, holdS, quick, fileLimit: limits.note, port: server.port, windows: results }, null, 2) + '\n',
    );
    console.log(`figures written to ${flags.out}`);
  } finally {
    await generator?.stop();
    for (const child of children) await stopChild(child, 5_000);
    rmSync(tempDir, { recursive: true, force: true });
  }
}

function printWindow(r: WindowResult): void {
  const l = r.traffic.latency;
  const errors = r.traffic.errors > 0 ? `  ERRORS ${r.traffic.errors} (${r.traffic.firstProblem ?? '?'})` : '';
  console.log(
    `\n${r.window} — ${r.what}` +
      (r.attack ? ` (set up in ${r.setupMs} ms)` : '') +
      `\n  normal traffic: ${r.traffic.rps}/s  p50 ${l.p50_ms}  p99 ${l.p99_ms}  p99.9 ${l.p999_ms}  max ${l.max_ms} ms  ok ${r.traffic.ok}${errors}` +
      `\n  node: RSS ${r.node.before.rssMb} MB before, peak ${r.node.peak.rssMb}, end ${r.node.atEnd.rssMb}; ` +
      `open fds ${r.node.before.fds} before, peak ${r.node.peak.fds}, end ${r.node.atEnd.fds}; load average ${r.loadAverage.join(' ')}`,
  );
  const a = r.attack;
  if (!a) return;
  const ended =
    a.endedByServer === undefined
      ? ''
      : `; ended by the server ${a.endedByServer}` +
        (a.endedAfterMs
          ? ` after ${Math.round(a.endedAfterMs.min)}–${Math.round(a.endedAfterMs.max)} ms (p50 ${Math.round(a.endedAfterMs.p50)})`
          : '') +
        `; still open at the end ${a.stillOpen}`;
  console.log(`  attack: ${a.opened} opened/attempted, ${a.failedToOpen} failed to open${ended}`);
  for (const [outcome, n] of Object.entries(a.outcomes).sort((x, y) => y[1] - x[1]))
    console.log(`    ${String(n).padStart(7)}  ${outcome}`);
}

await main();
