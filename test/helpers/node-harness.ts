/**
 * Starts a real Keyhold node for a test: a fresh data directory (SQLite unless a database URL is given),
 * HTTPS on an ephemeral loopback port, and a log capture so tests can read what the node logged.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from '../../src/core/clock.js';
import type { RootConfig } from '../../src/roots/root-config.js';
import { initDataDir } from '../../src/server/init.js';
import type { AuditConfig } from '../../src/audit/audit-service.js';
import { startNode } from '../../src/server/node.js';
import type { NodeOptions, RunningNode } from '../../src/server/running-node.js';
import { closeAgents } from './xks-client.js';

export interface TestNode {
  node: RunningNode;
  url: string;
  port: number;
  /** The Host header clients send: `localhost:<port>` (the certificate is for localhost). */
  host: string;
  dataDir: string;
  ca: Buffer;
  adminToken: string;
  region: string;
  prefix: string;
  keyId: string;
  credential: { accessKeyId: string; secret: string };
  /** Shamir nodes (`shamir` option): the shares init printed; the node starts sealed. */
  shares?: string[];
  /** Every log line the node wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Raw log text, for "never appears" assertions. */
  logText(): string;
  close(): Promise<void>;
}

/** An info-level logger whose lines are kept in `lines` (a test node's `logs` and `logText()`). */
export function capturedLogger(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, sink) };
}

export async function startTestNode(
  options: {
    databaseUrl?: string;
    clock?: Clock;
    healthMaxAgeMs?: number;
    idleTimeoutMs?: number;
    shamir?: { shares: number; threshold: number };
    root?: RootConfig;
    audit?: AuditConfig;
    metricsPublic?: boolean;
    throttle?: NodeOptions['throttle'];
    heartbeatIntervalMs?: number;
    propagation?: NodeOptions['propagation'];
    requestLog?: NodeOptions['requestLog'];
    mutualTls?: NodeOptions['mutualTls'];
    adminListener?: NodeOptions['adminListener'];
    tlsReloadIntervalMs?: number;
    transport?: NodeOptions['transport'];
    peerUnseal?: NodeOptions['peerUnseal'];
  } = {},
): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-test-'));
  const clock = options.clock ?? systemClock;
  const init = await initDataDir({
    dataDir,
    databaseUrl: options.databaseUrl,
    demo: true,
    clock,
    shamir: options.shamir,
    root: options.root,
  });
  const { lines, logger } = capturedLogger();
  const node = await startNode({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    databaseUrl: options.databaseUrl,
    logger,
    clock,
    healthMaxAgeMs: options.healthMaxAgeMs,
    idleTimeoutMs: options.idleTimeoutMs,
    audit: options.audit,
    metricsPublic: options.metricsPublic,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    propagation: options.propagation,
    requestLog: options.requestLog,
    mutualTls: options.mutualTls,
    adminListener: options.adminListener,
    tlsReloadIntervalMs: options.tlsReloadIntervalMs ?? 0,
    transport: options.transport,
    peerUnseal: options.peerUnseal,
    // The in-process test client shares the node's event loop (and a busy machine), so the event-loop lag
    // gate is off unless a test asks for it (test/xks/throttle.test.ts injects a lag source).
    throttle: { shedOnLagMs: 0, ...options.throttle },
  });
  const testNode: TestNode = {
    node,
    url: `https://localhost:${node.port}`,
    port: node.port,
    host: `localhost:${node.port}`,
    dataDir,
    ca: readFileSync(join(dataDir, 'tls', 'cert.pem')),
    adminToken: init.adminToken,
    region: init.demo!.keystore.region,
    prefix: init.demo!.keystore.prefix,
    keyId: init.demo!.keyId,
    credential: init.demo!.credential,
    shares: init.shares?.shares,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => lines.join('\n'),
    async close() {
      closeAgents();
      // `node` may have been replaced by a test that restarts it.
      await testNode.node.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return testNode;
}
