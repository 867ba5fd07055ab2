/**
 * The setup the XKS suites share: one node per suite, keys of given usages, and a restart on the same
 * data directory and port.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { pino } from 'pino';
import { systemClock, type Clock } from '../../src/core/clock.js';
import type { KeyUsage } from '../../src/domain/types.js';
import { startNode } from '../../src/server/node.js';
import type { NodeOptions } from '../../src/server/running-node.js';
import { startTestNode, type TestNode } from './node-harness.js';
import { createScratchDatabase, type ScratchDatabase } from './postgres.js';
import { admin, closeAgents } from './xks-client.js';

export type TestNodeOptions = NonNullable<Parameters<typeof startTestNode>[0]>;

/** A suite's node, with the scratch PostgreSQL database it runs on (`postgres: true`). */
export interface SuiteNode extends TestNode {
  database?: ScratchDatabase;
}

/**
 * Starts a node before the suite's tests (on a scratch PostgreSQL database with `postgres: true`, else
 * SQLite), runs `setUp` on it, and closes it (and drops the database) after them. Tests get the node
 * from the returned function, called inside a test or hook once the node is up.
 *
 * Put the suite's own preparation in `setUp` rather than in another top-level `before`: Node 20 runs a
 * file's top-level `before` hooks concurrently (those inside a `describe` run in order).
 */
export function useTestNode({
  postgres = false,
  setUp,
  ...options
}: TestNodeOptions & { postgres?: boolean; setUp?: (node: SuiteNode) => Promise<void> } = {}): () => SuiteNode {
  let node: SuiteNode | undefined;
  let database: ScratchDatabase | undefined;
  before(async () => {
    database = postgres ? await createScratchDatabase() : undefined;
    node = Object.assign(await startTestNode({ ...options, databaseUrl: database?.url }), { database });
    await setUp?.(node);
  });
  after(async () => {
    await node?.close();
    await database?.drop();
  });
  return () => {
    assert.ok(node, 'the suite node is not started yet');
    return node;
  };
}

/** Creates keys in the demo keystore (id → usage); those named in `disabled` are then disabled. */
export async function createKeys(
  node: TestNode,
  keys: Record<string, readonly KeyUsage[]>,
  { disabled = [] }: { disabled?: readonly string[] } = {},
): Promise<void> {
  for (const [id, usage] of Object.entries(keys)) {
    const created = await admin(node, 'POST', '/keys', { id, keystore: 'demo', usage });
    assert.equal(created.status, 201, created.text);
  }
  for (const id of disabled) {
    const response = await admin(node, 'POST', `/keys/${id}/disable`);
    assert.equal(response.status, 200, response.text);
  }
}

/**
 * Stops the node and starts it again on the same data directory and port (logging nowhere): what was
 * stored survives, what was only in memory does not.
 */
export async function restartTestNode(
  node: TestNode,
  options: { clock?: Clock; databaseUrl?: string; throttle?: NodeOptions['throttle'] } = {},
): Promise<void> {
  await node.node.close();
  closeAgents();
  node.node = await startNode({
    dataDir: node.dataDir,
    host: '127.0.0.1',
    port: node.port,
    databaseUrl: options.databaseUrl,
    logger: pino({ level: 'silent' }),
    clock: options.clock ?? systemClock,
    // As in startTestNode: the event-loop lag gate is off unless a test asks for it.
    throttle: { shedOnLagMs: 0, ...options.throttle },
  });
}
