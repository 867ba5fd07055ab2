import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../../src/core/clock.js';
import { startNode } from '../../src/server/node.js';
import type { NodeOptions, RunningNode } from '../../src/server/running-node.js';
import { startTestNode, type TestNode } from './node-harness.js';
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

/**
 * `count` real nodes on one scratch PostgreSQL database: the first is initialized as a test node, the
 * others have a copy of its data directory (same master key and certificate) and their own node ids.
 */
export async function startFleet(count: number, peerOptions: PeerOptions = {}): Promise<Fleet> {
  const database = await createScratchDatabase();
  const first = await startTestNode({ databaseUrl: database.url, ...peerOptions });
  const dirs: string[] = [];
  const startPeer = async (dataDir: string): Promise<TestNode> => {
    const node = await startNode({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      databaseUrl: database.url,
      logger: pino({ level: 'silent' }),
      clock: systemClock,
      // As startTestNode: the test client shares the event loop of a busy machine, so no event-loop lag gate.
      throttle: { shedOnLagMs: 0 },
      ...peerOptions,
    });
    return {
      ...first,
      node,
      port: node.port,
      host: `localhost:${node.port}`,
      url: `https://localhost:${node.port}`,
      close: () => node.close(),
    };
  };
  const nodes = [first];
  for (let i = 1; i < count; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-fleet-'));
    cpSync(first.dataDir, dir, { recursive: true });
    writeFileSync(join(dir, 'node-id'), `${randomUUID()}\n`);
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
