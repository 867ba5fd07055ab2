/**
 * `serve --workers 1` against `--workers N` on this machine: each on a fresh data directory (demo
 * keystore), driven over loopback by the benchmark's load generator (bench/load.ts, its own process,
 * pre-signed Encrypt requests, HTTP/1.1 keep-alive). Reports saturation req/s and an open-loop run at
 * a fixed rate, with the CPU used by the server's processes (primary + workers) and by the machine.
 *
 *   npm run build && node --import tsx scripts/measure-workers.ts [--workers 1,2] [--duration 8000] [--rate 1800]
 *
 * The server logs at info level to a file in its data directory, as `serve` does to a redirected stdout.
 * Set NODE_CLUSTER_SCHED_POLICY=none to compare the kernel's connection distribution with round robin.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { forkScript, machineCpu, processCpuSeconds, stopChild } from '../bench/children.js';
import type { LoadJob, LoadResult } from '../bench/load.js';
import { preparePool } from '../bench/xks-requests.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2' },
    duration: { type: 'string', default: '8000' },
    warmup: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '1800' },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string', default: '16' },
    /** More `serve` flags, e.g. "--audit-mode lossy" or "--database-url postgres://…" (a fresh database each run is up to you). */
    'serve-args': { type: 'string', default: '' },
  },
});
const BIN = new URL('../bin/keyhold.js', import.meta.url).pathname;
const serveArgs = values['serve-args'].split(/\s+/).filter(Boolean);
const databaseArgs = serveArgs.includes('--database-url') ? ['--database-url', serveArgs[serveArgs.indexOf('--database-url') + 1]!] : [];

/** The server's processes: the one started, and (with workers) its children. */
function serverPids(pid: number): number[] {
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  return [pid, ...children];
}

const cpuOf = (pids: number[]) => pids.reduce((sum, pid) => sum + (processCpuSeconds(pid) ?? 0), 0);

async function startKeyhold(workers: number): Promise<{ child: ChildProcess; port: number; dir: string; ca: string; credential: { accessKeyId: string; secret: string; region: string } }> {
  const dir = mkdtempSync(join(tmpdir(), `keyhold-workers-${workers}-`));
  const dataDir = join(dir, 'data');
  execFileSync(process.execPath, [BIN, 'init', '--data-dir', dataDir, ...databaseArgs], { stdio: 'ignore' });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const log = join(dir, 'serve.log');
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', String(port), '--workers', String(workers), ...serveArgs], {
    stdio: ['ignore', openSync(log, 'a'), 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const deadline = Date.now() + 60_000;
  while (!readFileSync(log, 'utf8').includes('serving XKS')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`keyhold --workers ${workers} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const consoleJson = JSON.parse(readFileSync(join(dataDir, 'kms-console', 'demo.json'), 'utf8'));
  return {
    child,
    port,
    dir,
    ca: readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8'),
    credential: {
      accessKeyId: consoleJson.XksProxyAuthenticationCredential.AccessKeyId,
      secret: consoleJson.XksProxyAuthenticationCredential.RawSecretAccessKey,
      region: 'us-east-1',
    },
  };
}

async function phase(job: LoadJob, pids: number[]): Promise<LoadResult & { serverCpuPct: number; primaryCpuPct: number; machineBusyPct: number }> {
  const child = forkScript('load.ts');
  let cpu0 = 0;
  let machine0 = machineCpu();
  let start = 0;
  let serverCpuPct = 0;
  let primaryCpu0 = 0;
  let primaryCpuPct = 0;
  let machineBusyPct = 0;
  try {
    const result = await new Promise<LoadResult>((resolve, reject) => {
      child.on('message', (message: { type: string; result?: LoadResult }) => {
        if (message.type === 'measure-start') {
          cpu0 = cpuOf(pids);
          primaryCpu0 = cpuOf(pids.slice(0, 1));
          machine0 = machineCpu();
          start = performance.now();
        } else if (message.type === 'measure-end') {
          const seconds = (performance.now() - start) / 1000;
          serverCpuPct = Math.round(((cpuOf(pids) - cpu0) / seconds) * 100);
          primaryCpuPct = Math.round(((cpuOf(pids.slice(0, 1)) - primaryCpu0) / seconds) * 100);
          const machine1 = machineCpu();
          if (machine0 && machine1) machineBusyPct = Math.round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100);
        } else if (message.type === 'result' && message.result) resolve(message.result);
      });
      child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
      child.send({ type: 'job', job });
    });
    return { ...result, serverCpuPct, primaryCpuPct, machineBusyPct };
  } finally {
    await stopChild(child);
  }
}

console.log(`${cpus().length} cores, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, policy ${process.env.NODE_CLUSTER_SCHED_POLICY ?? 'rr (default)'}, serve ${serveArgs.join(' ') || '(defaults)'}`);
for (const workers of values.workers.split(',').map(Number)) {
  const server = await startKeyhold(workers);
  try {
    const pids = serverPids(server.child.pid!);
    const path = '/demo/kms/xks/v1/keys/demo-key/encrypt';
    const base = { port: server.port, ca: server.ca, connections: Number(values.connections), warmupMs: Number(values.warmup), durationMs: Number(values.duration), drainMs: 2000, checkEvery: 16 };
    const requests = () => preparePool({ host: `localhost:${server.port}`, path, credential: server.credential, size: 256 });
    const saturation = await phase({ ...base, mode: 'saturation', requests: await requests(), concurrency: Number(values.concurrency) }, pids);
    const fixed = await phase({ ...base, mode: 'fixed-rate', requests: await requests(), rate: Number(values.rate), maxInFlight: Number(values.rate) }, pids);
    console.log(
      `--workers ${workers}: saturation ${Math.round(saturation.rps)} req/s (errors ${saturation.errors}, p99 ${saturation.latency.p99_ms} ms), server CPU ${saturation.serverCpuPct} % of a core${workers > 1 ? ` (primary ${saturation.primaryCpuPct} %)` : ''}, ${Math.round((saturation.serverCpuPct * 10_000) / Math.max(1, saturation.rps))} µs CPU per request, loadgen ${Math.round(saturation.loadgenCpuPct)} %, machine ${saturation.machineBusyPct} % busy` +
        ` | ${values.rate} req/s open loop: p50 ${fixed.latency.p50_ms} ms, p99 ${fixed.latency.p99_ms} ms, max ${fixed.latency.max_ms} ms, errors ${fixed.errors}, server CPU ${fixed.serverCpuPct} %`,
    );
  } finally {
    await stopChild(server.child, 20_000);
    rmSync(server.dir, { recursive: true, force: true });
  }
}
