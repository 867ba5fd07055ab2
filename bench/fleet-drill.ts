/**
 * The fleet failover drill (docs/fleet.md#drills), loopback only, bounded in time. Three `keyhold serve`
 * nodes on one scratch PostgreSQL database behind a real HAProxy (TCP mode, TLS passed through, health
 * checks on /ping), driven open-loop at a fixed rate of Encrypt requests, KMS-style (one retry on a failure).
 *
 *   npm run build && node --import tsx bench/fleet-drill.ts --mode node-kill     # SIGKILL one node at 10 s, restart at 20 s
 *   npm run build && node --import tsx bench/fleet-drill.ts --mode db-outage     # PostgreSQL unreachable from 5 s to 25 s
 *   options: --rate 1800 --duration 30 --out drill.json
 *
 * db-outage cannot stop the shared PostgreSQL server (other processes use it): the nodes reach it through
 * a TCP proxy this script runs, and the outage is that proxy cutting every connection and refusing new
 * ones for 20 s: what the nodes see is the same as a server that went away.
 *
 * Reported: requests failed (and still failed after one retry), latency percentiles before / during /
 * after, the restarted node's time to serve, that every request answered 200 has its audit event, and
 * `keyhold audit verify` over every node's chain. This file is over 300 lines because it is one script
 * whose parts (processes, proxy, load, checks) only make sense together.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { systemClock } from '../src/core/clock.js';
import { initDataDir } from '../src/server/init.js';
import { adminQuery, BIN, freePort, PG_ADMIN } from './fleet-support.js';
import { startHaproxy, waitForPing } from './haproxy.js';
import { signRequest } from './xks-requests.js';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'node-kill' },
    rate: { type: 'string', default: '1800' },
    duration: { type: 'string', default: '30' },
    out: { type: 'string' },
  },
});
const MODE = args.mode === 'db-outage' ? 'db-outage' : 'node-kill';
const RATE = Number(args.rate);
const DURATION_S = Number(args.duration);
/** node-kill: SIGKILL node 3 at 10 s, restart it at 20 s. db-outage: PostgreSQL away from 5 s to 25 s. */
const EVENT_START_S = MODE === 'node-kill' ? 10 : 5;
const EVENT_END_S = MODE === 'node-kill' ? 20 : 25;
const CLIENT_TIMEOUT_MS = 2_000;

const children = new Set<ChildProcess>();
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP proxy in front of PostgreSQL that can cut every connection and refuse new ones (the simulated outage). */
async function startPgProxy(
  target: number,
): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const port = await freePort();
  const listen = (): Promise<Server> =>
    new Promise((resolve) => {
      const server = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  let server: Server | undefined = await listen();
  const stop = async () => {
    const closing = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    if (closing) await new Promise((resolve) => closing.close(resolve));
  };
  return {
    port,
    cut: stop,
    async restore() {
      server ??= await listen();
    },
    close: stop,
  };
}

interface NodeProcess {
  index: number;
  port: number;
  dataDir: string;
  child?: ChildProcess;
}

function startServe(node: NodeProcess, databaseUrl: string): void {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      // One port per node: the drill picks free ports, and an admin listener on port + 1 could collide with the next node's.
      '--single-listener',
      '--data-dir',
      node.dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(node.port),
      '--database-url',
      databaseUrl,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  node.child = child;
}

interface Outcome {
  /** Seconds since the start of the run at which the request was scheduled. */
  at: number;
  latencyMs: number;
  status: number;
  retried: boolean;
  kmsRequestId: string;
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length ? Math.round((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) * 10) / 10 : null;
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: at(100) };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'keyhold-drill-'));
  const database = `keyhold_drill_${randomBytes(5).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${database}"`);
  const directUrl = new URL(PG_ADMIN);
  directUrl.pathname = `/${database}`;
  const proxy = MODE === 'db-outage' ? await startPgProxy(Number(new URL(PG_ADMIN).port || 5432)) : undefined;
  const nodeUrl = new URL(directUrl);
  if (proxy) nodeUrl.port = String(proxy.port);
  let haproxy: ChildProcess | undefined;
  try {
    const first = join(work, 'node1');
    const init = await initDataDir({ dataDir: first, databaseUrl: directUrl.toString(), demo: true, clock: systemClock });
    const demo = init.demo;
    if (!demo) throw new Error('init made no demo keystore');
    const nodes: NodeProcess[] = [];
    for (let i = 1; i <= 3; i++) {
      const dataDir = i === 1 ? first : join(work, `node${i}`);
      if (i > 1) {
        cpSync(first, dataDir, { recursive: true });
        writeFileSync(join(dataDir, 'node-id'), `${randomUUID()}\n`);
      }
      nodes.push({ index: i, port: await freePort(), dataDir });
    }
    const ca = readFileSync(join(first, 'tls', 'cert.pem'));
    for (const node of nodes) startServe(node, nodeUrl.toString());
    for (const node of nodes) await waitForPing(node.port, ca);

    const front = await freePort();
    haproxy = startHaproxy(
      work,
      front,
      nodes.map((n) => n.port),
    );
    children.add(haproxy);
    await waitForPing(front, ca);
    await delay(1_000);

    // Every request is distinct (its own kmsRequestId) and signed for the load balancer's address, as KMS does.
    const total = RATE * DURATION_S;
    const host = `localhost:${front}`;
    const credential = { accessKeyId: demo.credential.accessKeyId, secret: demo.credential.secret, region: demo.keystore.region };
    const path = `${demo.keystore.uriPath}/keys/${demo.keyId}/encrypt`;
    console.error(`signing ${total} requests…`);
    const prepared: { body: string; headers: Record<string, string>; kmsRequestId: string }[] = [];
    for (let i = 0; i < total; i++) {
      const kmsRequestId = randomUUID();
      const body = JSON.stringify({
        requestMetadata: {
          awsPrincipalArn: 'arn:aws:iam::111122223333:role/drill',
          kmsOperation: 'Encrypt',
          kmsRequestId,
          kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/drill',
        },
        plaintext: randomBytes(32).toString('base64'),
        encryptionAlgorithm: 'AES_GCM',
      });
      prepared.push({ body, headers: await signRequest(host, path, body, credential), kmsRequestId });
    }

    const agent = new Agent({ keepAlive: true, maxSockets: 128, ca, servername: 'localhost' });
    const send = (i: number): Promise<{ status: number; body: string }> => {
      const request_ = prepared[i];
      if (!request_) throw new Error('no request');
      return new Promise((resolve) => {
        const req = request(
          { host: '127.0.0.1', port: front, path, method: 'POST', headers: request_.headers, agent, timeout: CLIENT_TIMEOUT_MS },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
            res.on('error', () => resolve({ status: 0, body: '' }));
          },
        );
        req.on('error', () => resolve({ status: 0, body: '' }));
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end(request_.body);
      });
    };

    const outcomes: Outcome[] = [];
    const firstFailures: Outcome[] = [];
    let restartServedMs: number | undefined;
    let restartPingMs: number | undefined;
    const events: string[] = [];
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    const killed = nodes[2];
    if (!killed) throw new Error('no third node');
    const scheduleEvents = async () => {
      await delay(EVENT_START_S * 1000);
      if (MODE === 'node-kill') {
        killed.child?.kill('SIGKILL');
        events.push(`${seconds().toFixed(2)} s: node3 SIGKILLed`);
        await delay((EVENT_END_S - EVENT_START_S) * 1000);
        const restartAt = performance.now();
        startServe(killed, nodeUrl.toString());
        events.push(`${seconds().toFixed(2)} s: node3 restarted`);
        restartPingMs = await waitForPing(killed.port, ca);
        restartServedMs = performance.now() - restartAt;
      } else {
        await proxy?.cut();
        events.push(`${seconds().toFixed(2)} s: PostgreSQL cut`);
        await delay((EVENT_END_S - EVENT_START_S) * 1000);
        await proxy?.restore();
        events.push(`${seconds().toFixed(2)} s: PostgreSQL back`);
      }
    };
    const eventsDone = scheduleEvents();
    const inFlight: Promise<void>[] = [];
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
        for (; next < due; next++) {
          const i = next;
          const scheduled = t0 + (i / RATE) * 1000;
          inFlight.push(
            (async () => {
              let answer = await send(i);
              let retried = false;
              const kmsRequestId = prepared[i]?.kmsRequestId ?? '';
              if (answer.status !== 200) {
                firstFailures.push({
                  at: (scheduled - t0) / 1000,
                  latencyMs: performance.now() - scheduled,
                  status: answer.status,
                  retried: false,
                  kmsRequestId,
                });
                retried = true;
                answer = await send(i);
              }
              outcomes.push({
                at: (scheduled - t0) / 1000,
                latencyMs: performance.now() - scheduled,
                status: answer.status,
                retried,
                kmsRequestId,
              });
            })(),
          );
        }
        if (next >= total) {
          clearInterval(tick);
          resolve();
        }
      }, 1);
    });
    await Promise.all(inFlight);
    await eventsDone;
    agent.destroy();

    const phase = (from: number, to: number) =>
      percentiles(outcomes.filter((o) => o.at >= from && o.at < to && o.status === 200).map((o) => o.latencyMs));
    const failedAfterRetry = outcomes.filter((o) => o.status !== 200);
    const ok = outcomes.filter((o) => o.status === 200);

    // Audit: wait for spools to replay (db-outage) and group commits, then look every 200 up by its kmsRequestId.
    const client = new pg.Client({ connectionString: directUrl.toString() });
    await client.connect();
    let missing: string[] = [];
    for (let attempt = 0; attempt < 60; attempt++) {
      const { rows } = await client.query<{ id: string }>(
        `SELECT DISTINCT kms_request_id AS id FROM audit_events WHERE kind = 'xks' AND status = 200 AND kms_request_id = ANY($1)`,
        [ok.map((o) => o.kmsRequestId)],
      );
      const seen = new Set(rows.map((r) => r.id));
      missing = ok.filter((o) => !seen.has(o.kmsRequestId)).map((o) => o.kmsRequestId);
      if (missing.length === 0) break;
      await delay(1_000);
    }
    await client.end();

    haproxy.kill('SIGTERM');
    for (const node of nodes) node.child?.kill('SIGTERM');
    await delay(2_000);
    const verify = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, '--data-dir', first, 'audit', 'verify', '--database-url', directUrl.toString()], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.on('close', (code) => resolve({ code, out }));
    });

    const report = {
      mode: MODE,
      rate: RATE,
      durationS: DURATION_S,
      events,
      requests: outcomes.length,
      answered200: ok.length,
      failedFirstTry: firstFailures.length,
      firstFailureStatuses: Object.fromEntries(
        [...new Set(firstFailures.map((f) => f.status))].map((s) => [s, firstFailures.filter((f) => f.status === s).length]),
      ),
      failedAfterOneRetry: failedAfterRetry.length,
      latencyMs: {
        before: phase(0, EVENT_START_S),
        during: phase(EVENT_START_S, EVENT_END_S),
        after: phase(EVENT_END_S, DURATION_S + 1),
      },
      restartedNode:
        MODE === 'node-kill'
          ? { pingAfterMs: restartPingMs && Math.round(restartPingMs), servedAfterMs: restartServedMs && Math.round(restartServedMs) }
          : undefined,
      audit: { answered200WithoutEvent: missing.length },
      auditVerify: { exitCode: verify.code, output: verify.out.trim().split('\n').slice(-6) },
    };
    console.log(JSON.stringify(report, null, 2));
    if (args.out) writeFileSync(args.out, JSON.stringify(report, null, 2) + '\n');
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await proxy?.close();
    await delay(500);
    await adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
