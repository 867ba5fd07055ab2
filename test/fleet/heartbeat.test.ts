import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../../src/core/clock.js';
import { startNode, type RunningNode } from '../../src/server/node.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';
import { decryptBody, encryptBody, healthBody, xks } from '../helpers/xks-client.js';

describe('a fleet of nodes on one PostgreSQL database', () => {
  let database: ScratchDatabase;
  let first: TestNode;
  let second: RunningNode;
  let secondDir: string;

  before(async () => {
    database = await createScratchDatabase();
    first = await startTestNode({ databaseUrl: database.url });
    // A second node: the same master key and certificate, its own node id, the same database.
    secondDir = mkdtempSync(join(tmpdir(), 'keyhold-fleet-'));
    cpSync(first.dataDir, secondDir, { recursive: true });
    writeFileSync(join(secondDir, 'node-id'), `${randomUUID()}\n`);
    second = await startNode({ dataDir: secondDir, host: '127.0.0.1', port: 0, databaseUrl: database.url, logger: pino({ level: 'silent' }), clock: systemClock });
  });

  after(async () => {
    await second?.close();
    await first?.close();
    rmSync(secondDir, { recursive: true, force: true });
    await database?.drop();
  });

  it('the fleet table holds both nodes', async () => {
    const nodes = await first.node.services.store.listNodesSeenSince(Date.now() - 30_000);
    assert.deepEqual(nodes.map((n) => n.id).sort(), [first.node.nodeId, second.nodeId].sort());
  });

  it('64: the node that started second reports xksProxyFleetSize 2', async () => {
    const response = await xks(secondNode(), { operation: 'health', body: healthBody() });
    assert.equal(response.status, 200);
    assert.equal(response.json.xksProxyFleetSize, 2);
  });

  it('a ciphertext made by one node decrypts on the other (shared keys, same root of trust)', async () => {
    const plaintext = randomBytes(48);
    const encrypted = await xks(first, { operation: 'encrypt', body: encryptBody(plaintext) });
    assert.equal(encrypted.status, 200);
    const decrypted = await xks(secondNode(), { operation: 'decrypt', body: decryptBody(encrypted.json) });
    assert.equal(decrypted.status, 200, decrypted.text);
    assert.deepEqual(Buffer.from(decrypted.json.plaintext, 'base64'), plaintext);
  });

  /** The second node seen through the test client (same keystore, credential and certificate). */
  function secondNode(): TestNode {
    return { ...first, node: second, port: second.port, host: `localhost:${second.port}`, url: `https://localhost:${second.port}` };
  }
});
