import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { startNode } from '../../src/server/node.js';
import type { NodeOptions, RunningNode } from '../../src/server/running-node.js';
import { capturedLogger, startTestNode, type TestNode } from './node-harness.js';
import { createScratchDatabase, type ScratchDatabase } from './postgres.js';

export interface TwoNodeFleet {
  first: TestNode;
  second: RunningNode;
  /** The second node seen through the test client (same keystore, credential and certificate). */
  secondNode(): TestNode;
  close(): Promise<void>;
}

export interface Fleet {
  database: ScratchDatabase;
  /** Every node seen through the test client; nodes[0] was initialized, the others copy its data directory. */
  nodes: TestNode[];
  /** Stops node `index` (its data directory stays) and starts it again; returns the new node. */
  restart(index: number): Promise<TestNode>;
  close(): Promise<void>;
}

/** Options every node of the fleet starts with. */
export type PeerOptions = Pick<NodeOptions, 'propagation' | 'heartbeatIntervalMs'>;

/** A copy of a node's data directory (same root of trust, credential key and certificate) with its own node id. */
export function copyDataDir(first: TestNode): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-fleet-'));
  cpSync(first.dataDir, dir, { recursive: true });
  writeFileSync(join(dir, 'node-id'), `${randomUUID()}\n`);
  return dir;
}

/**
 * Another real node on `first`'s database from a copy of its data directory (copyDataDir), seen through the
 * test client as `first` is (same keystore, credential and certificate); its log lines are captured.
 */
export async function startPeerNode(first: TestNode, dataDir: string, options: Partial<NodeOptions> = {}): Promise<TestNode> {
  const { lines, logger } = capturedLogger();
  const node = await startNode({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    logger,
    clock: systemClock,
    // As startTestNode: the test client shares the event loop of a busy machine, so no event-loop lag gate.
    throttle: { shedOnLagMs: 0 },
    ...options,
  });
  return {
    ...first,
    node,
    port: node.port,
    host: `localhost:${node.port}`,
    url: `https://localhost:${node.port}`,
    dataDir,
    // The data directory's own certificate: a copy of the first's in a fleet, a new one in a restored directory.
    ca: readFileSync(join(dataDir, 'tls', 'cert.pem')),
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => lines.join('\n'),
    close: () => node.close(),
  };
}

/**
 * `count` real nodes on one scratch PostgreSQL database: the first is initialized as a test node, the
 * others have a copy of its data directory (same master key and certificate) and their own node ids.
 */
export async function startFleet(count: number, peerOptions: PeerOptions = {}): Promise<Fleet> {
  const database = await createScratchDatabase();
  const first = await startTestNode({ databaseUrl: database.url, ...peerOptions });
  const dirs: string[] = [];
  const startPeer = (dataDir: string) => startPeerNode(first, dataDir, { databaseUrl: database.url, ...peerOptions });
  const nodes = [first];
  for (let i = 1; i < count; i++) {
    const dir = copyDataDir(first);
    dirs.push(dir);
    nodes.push(await startPeer(dir));
  }
  return {
    database,
    nodes,
    async restart(index) {
      const dir = dirs[index - 1];
      const node = nodes[index];
      if (index < 1 || !dir || !node) throw new Error('only a peer (index ≥ 1) can be restarted');
      await node.close();
      const restarted = await startPeer(dir);
      nodes[index] = restarted;
      return restarted;
    },
    async close() {
      for (const node of nodes.slice(1).reverse()) await node.close().catch(() => undefined);
      await first.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await database.drop();
    },
  };
}

/** Two real nodes on one scratch PostgreSQL database (startFleet(2)), named as the older tests use them. */
export async function startTwoNodeFleet(): Promise<TwoNodeFleet> {
  const fleet = await startFleet(2);
  const [first, second] = fleet.nodes;
  if (!first || !second) throw new Error('the fleet did not start');
  return { first, second: second.node, secondNode: () => second, close: () => fleet.close() };
}
