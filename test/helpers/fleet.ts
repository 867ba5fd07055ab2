import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../../src/core/clock.js';
import { startNode } from '../../src/server/node.js';
import type { RunningNode } from '../../src/server/running-node.js';
import { startTestNode, type TestNode } from './node-harness.js';
import { createScratchDatabase } from './postgres.js';

export interface TwoNodeFleet {
  first: TestNode;
  second: RunningNode;
  /** The second node seen through the test client (same keystore, credential and certificate). */
  secondNode(): TestNode;
  close(): Promise<void>;
}

/**
 * Two real nodes on one scratch PostgreSQL database: the second has a copy of the first's data
 * directory (same master key and certificate) and its own node id.
 */
export async function startTwoNodeFleet(): Promise<TwoNodeFleet> {
  const database = await createScratchDatabase();
  const first = await startTestNode({ databaseUrl: database.url });
  const secondDir = mkdtempSync(join(tmpdir(), 'keyhold-fleet-'));
  cpSync(first.dataDir, secondDir, { recursive: true });
  writeFileSync(join(secondDir, 'node-id'), `${randomUUID()}\n`);
  const second = await startNode({
    dataDir: secondDir,
    host: '127.0.0.1',
    port: 0,
    databaseUrl: database.url,
    logger: pino({ level: 'silent' }),
    clock: systemClock,
  });
  return {
    first,
    second,
    secondNode: () => ({
      ...first,
      node: second,
      port: second.port,
      host: `localhost:${second.port}`,
      url: `https://localhost:${second.port}`,
    }),
    async close() {
      await second.close();
      await first.close();
      rmSync(secondDir, { recursive: true, force: true });
      await database.drop();
    },
  };
}
