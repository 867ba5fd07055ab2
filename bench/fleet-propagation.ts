/**
 * Propagation latency across a fleet (docs/fleet.md#propagation), loopback only, bounded: two
 * `keyhold serve` nodes (the compiled build: `npm run build` first) on one scratch PostgreSQL database,
 * both serving Encrypt open-loop at a fixed total rate from this process, while the kill switch is
 * flipped 200 times on the first. Each figure is the time from the first node's admin answer (the change
 * committed) to the second node's XKS Encrypt answering accordingly (InvalidStateException, or 200 once
 * released), probed one request at a time, so a figure includes up to one request's latency.
 *
 *   node --import tsx bench/fleet-propagation.ts [--changes 200] [--rate 1000] [--out file.json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/clock.js';
import { initDataDir } from '../src/server/init.js';
import { adminQuery, BIN, freePort, PG_ADMIN } from './fleet-support.js';
import { signRequest } from './xks-requests.js';

const { values: args } = parseArgs({
  options: { changes: { type: 'string', default: '200' }, rate: { type: 'string', default: '1000' }, out: { type: 'string' } },
});
const CHANGES = Number(args.changes);
const RATE = Number(args.rate);

function call(agent: Agent, port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, method, path, headers, agent, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'keyhold-propagation-'));
  const database = `keyhold_prop_${randomBytes(5).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${database}"`);
  const url = new URL(PG_ADMIN);
  url.pathname = `/${database}`;
  const children: ChildProcess[] = [];
  try {
    const firstDir = join(work, 'node1');
    const init = await initDataDir({ dataDir: firstDir, databaseUrl: url.toString(), demo: true, clock: systemClock });
    const demo = init.demo;
    if (!demo) throw new Error('no demo keystore');
    const secondDir = join(work, 'node2');
    cpSync(firstDir, secondDir, { recursive: true });
    writeFileSync(join(secondDir, 'node-id'), `${randomUUID()}\n`);
    const ca = readFileSync(join(firstDir, 'tls', 'cert.pem'));
    const agent = new Agent({ keepAlive: true, maxSockets: 64, ca });
    const ports: number[] = [];
    for (const dataDir of [firstDir, secondDir]) {
      const port = await freePort();
      ports.push(port);
      // No queue-time shedding: on a busy machine a 429 would hide the answer the probe waits for.
      const args = [
        'serve',
        '--single-listener', // the probe calls the admin API on the XKS port
        '--data-dir',
        dataDir,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--database-url',
        url.toString(),
        '--shed-after-ms',
        '0',
      ];
      children.push(spawn(process.execPath, [BIN, ...args, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] }));
    }
    for (const port of ports) {
      const deadline = performance.now() + 60_000;
      while ((await call(agent, port, 'GET', '/ping', {})) !== 200) {
        if (performance.now() > deadline) throw new Error(`port ${port} did not answer /ping`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const [firstPort, secondPort] = ports as [number, number];

    // Encrypt requests pre-signed per node; the load cycles through them, the probe signs its own.
    const path = `${demo.keystore.uriPath}/keys/${demo.keyId}/encrypt`;
    const credential = { accessKeyId: demo.credential.accessKeyId, secret: demo.credential.secret, region: demo.keystore.region };
    const signed = async (port: number) => {
      const body = JSON.stringify({
        requestMetadata: {
          awsPrincipalArn: 'arn:aws:iam::111122223333:role/bench',
          kmsOperation: 'Encrypt',
          kmsRequestId: randomUUID(),
          kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/bench',
        },
        plaintext: randomBytes(32).toString('base64'),
        encryptionAlgorithm: 'AES_GCM',
      });
      return { body, headers: await signRequest(`localhost:${port}`, path, body, credential) };
    };
    const pools = await Promise.all(ports.map(async (port) => Promise.all(Array.from({ length: 256 }, () => signed(port)))));
    let sent = 0;
    let answered = 0;
    const t0 = performance.now();
    const load = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
      for (; sent < due; sent++) {
        const n = sent % ports.length;
        const entry = pools[n]?.[sent % 256];
        const port = ports[n];
        if (entry && port) void call(agent, port, 'POST', path, entry.headers, entry.body).then(() => answered++);
      }
    }, 1);

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const adminHeaders = { authorization: `Bearer ${init.adminToken}`, 'content-type': 'application/json' };
    const probe = await signed(secondPort);
    const lags: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const on = i % 2 === 0;
      const status = await call(agent, firstPort, 'PUT', '/api/v1/node/kill-switch', adminHeaders, JSON.stringify({ on, reason: 'bench' }));
      if (status !== 200) throw new Error(`kill switch change ${i}: ${status}`);
      const committed = performance.now();
      // 200 while released; 400 InvalidStateException while on.
      while ((await call(agent, secondPort, 'POST', path, probe.headers, probe.body)) !== (on ? 400 : 200)) {
        if (performance.now() - committed > 10_000) throw new Error(`change ${i} not seen on the second node within 10 s`);
      }
      lags.push(performance.now() - committed);
      if ((i + 1) % 20 === 0) console.error(`${i + 1} changes, last ${Math.round(lags.at(-1) ?? 0)} ms, answered ${answered}`);
    }
    clearInterval(load);
    const elapsedS = (performance.now() - t0) / 1000;
    const sorted = [...lags].sort((a, b) => a - b);
    const at = (p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) * 10) / 10;
    const report = {
      changes: CHANGES,
      targetRate: RATE,
      answeredRate: Math.round(answered / elapsedS),
      propagationMs: { p50: at(50), p90: at(90), p99: at(99), max: at(100) },
    };
    console.log(JSON.stringify(report, null, 2));
    if (args.out) writeFileSync(args.out, JSON.stringify(report, null, 2) + '\n');
    agent.destroy();
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
