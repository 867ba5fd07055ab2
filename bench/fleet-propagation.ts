/**
 * Propagation latency across a fleet (docs/fleet.md#propagation), loopback only, bounded: two nodes on one
 * scratch PostgreSQL database in this process, both serving Encrypt open-loop at a fixed total rate, while
 * the kill switch is flipped 200 times on the first. Each figure is the time from the first node's admin
 * answer (the change committed) to the second node's kill switch — what its XKS hot path reads — showing it.
 *
 *   node --import tsx bench/fleet-propagation.ts [--changes 200] [--rate 1000] [--out file.json]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { systemClock } from '../src/core/clock.js';
import { initDataDir } from '../src/server/init.js';
import { startNode } from '../src/server/node.js';
import type { RunningNode } from '../src/server/running-node.js';
import { signRequest } from './xks-requests.js';

const { values: args } = parseArgs({
  options: { changes: { type: 'string', default: '200' }, rate: { type: 'string', default: '1000' }, out: { type: 'string' } },
});
const CHANGES = Number(args.changes);
const RATE = Number(args.rate);
const PG_ADMIN = process.env.KEYHOLD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

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
  const nodes: RunningNode[] = [];
  try {
    const firstDir = join(work, 'node1');
    const init = await initDataDir({ dataDir: firstDir, databaseUrl: url.toString(), demo: true, clock: systemClock });
    const demo = init.demo;
    if (!demo) throw new Error('no demo keystore');
    const secondDir = join(work, 'node2');
    cpSync(firstDir, secondDir, { recursive: true });
    writeFileSync(join(secondDir, 'node-id'), `${randomUUID()}\n`);
    for (const dataDir of [firstDir, secondDir])
      nodes.push(
        await startNode({
          dataDir,
          host: '127.0.0.1',
          port: 0,
          databaseUrl: url.toString(),
          logger: pino({ level: 'silent' }),
          clock: systemClock,
          throttle: { shedOnLagMs: 0 },
        }),
      );
    const [first, second] = nodes;
    if (!first || !second) throw new Error('the nodes did not start');
    const ca = readFileSync(join(firstDir, 'tls', 'cert.pem'));
    const agent = new Agent({ keepAlive: true, maxSockets: 32, ca });

    // Background load: Encrypt open-loop at RATE, alternating between the nodes, pre-signed per node.
    const path = `${demo.keystore.uriPath}/keys/${demo.keyId}/encrypt`;
    const credential = { accessKeyId: demo.credential.accessKeyId, secret: demo.credential.secret, region: demo.keystore.region };
    const pools = await Promise.all(
      nodes.map(async (node) => {
        const pool: { headers: Record<string, string>; body: string }[] = [];
        for (let i = 0; i < 256; i++) {
          const body = JSON.stringify({
            requestMetadata: {
              awsPrincipalArn: 'arn:aws:iam::111122223333:role/bench',
              kmsOperation: 'Encrypt',
              kmsRequestId: randomUUID(),
            },
            plaintext: randomBytes(32).toString('base64'),
            encryptionAlgorithm: 'AES_GCM',
          });
          pool.push({ body, headers: await signRequest(`localhost:${node.port}`, path, body, credential) });
        }
        return pool;
      }),
    );
    let sent = 0;
    let answered = 0;
    const t0 = performance.now();
    const load = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
      for (; sent < due; sent++) {
        const n = sent % nodes.length;
        const entry = pools[n]?.[sent % 256];
        const node = nodes[n];
        if (entry && node) void call(agent, node.port, 'POST', path, entry.headers, entry.body).then(() => answered++);
      }
    }, 1);

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const adminHeaders = { authorization: `Bearer ${init.adminToken}`, 'content-type': 'application/json' };
    const lags: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const on = i % 2 === 0;
      const status = await call(
        agent,
        first.port,
        'PUT',
        '/api/v1/node/kill-switch',
        adminHeaders,
        JSON.stringify({ on, reason: 'bench' }),
      );
      if (status !== 200) throw new Error(`kill switch change ${i}: ${status}`);
      const committed = performance.now();
      while (second.services.killSwitch.status().on !== on) {
        if (performance.now() - committed > 5_000) throw new Error(`change ${i} not applied within 5 s`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      lags.push(performance.now() - committed);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    clearInterval(load);
    const elapsedS = (performance.now() - t0) / 1000;
    const sorted = [...lags].sort((a, b) => a - b);
    const at = (p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) * 10) / 10;
    const report = {
      changes: CHANGES,
      targetRate: RATE,
      servedRate: Math.round(answered / elapsedS),
      propagationMs: { p50: at(50), p90: at(90), p99: at(99), max: at(100) },
    };
    console.log(JSON.stringify(report, null, 2));
    if (args.out) writeFileSync(args.out, JSON.stringify(report, null, 2) + '\n');
    agent.destroy();
  } finally {
    for (const node of nodes.reverse()) await node.close().catch(() => undefined);
    await adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
