import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RunningNode } from '../../src/server/node.js';
import { startTwoNodeFleet, type TwoNodeFleet } from '../helpers/fleet.js';
import type { TestNode } from '../helpers/node-harness.js';
import { decryptBody, encryptBody, healthBody, xks } from '../helpers/xks-client.js';

describe('a fleet of nodes on one PostgreSQL database', () => {
  let fleet: TwoNodeFleet;
  let first: TestNode;
  let second: RunningNode;
  const secondNode = () => fleet.secondNode();

  before(async () => {
    fleet = await startTwoNodeFleet();
    ({ first, second } = fleet);
  });

  after(() => fleet?.close());

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
});
