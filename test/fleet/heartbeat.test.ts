import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createFleetStore } from '../../src/fleet/sql-fleet-store.js';
import type { RunningNode } from '../../src/server/running-node.js';
import { startTwoNodeFleet, type TwoNodeFleet } from '../helpers/fleet.js';
import type { TestNode } from '../helpers/node-harness.js';
import { admin, decryptBody, encryptBody, healthBody, xks, type XksResponse } from '../helpers/xks-client.js';

const errorName = (response: XksResponse) => (response.json as { errorName?: string }).errorName;

describe('a fleet of nodes on one PostgreSQL database', () => {
  let fleet: TwoNodeFleet | undefined;
  let first: TestNode;
  let second: RunningNode;
  const secondNode = () => {
    if (!fleet) throw new Error('the fleet did not start');
    return fleet.secondNode();
  };

  before(async () => {
    fleet = await startTwoNodeFleet();
    ({ first, second } = fleet);
  });

  after(() => fleet?.close());

  it('the fleet table holds both nodes', async () => {
    const nodes = await createFleetStore(first.node.services.database).listNodesSeenSince(Date.now() - 30_000);
    assert.deepEqual(nodes.map((n) => n.id).sort(), [first.node.nodeId, second.nodeId].sort());
  });

  it('64: the node that started second reports xksProxyFleetSize 2', async () => {
    const response = await xks(secondNode(), { operation: 'health', body: healthBody() });
    assert.equal(response.status, 200);
    assert.equal((response.json as { xksProxyFleetSize: number }).xksProxyFleetSize, 2);
  });

  it('87: a credential added on one node authenticates on the other after a refresh, and stops once removed', async () => {
    const added = await admin(first, 'POST', '/keystores/demo/credentials', {});
    assert.equal(added.status, 201, added.text);
    const credential = added.json as { accessKeyId: string; secret: string };
    const health = () => xks(secondNode(), { operation: 'health', body: healthBody(), credential });
    await second.scheduler.tick();
    assert.equal((await health()).status, 200);
    assert.equal((await admin(first, 'DELETE', `/keystores/demo/credentials/${credential.accessKeyId}`)).status, 204);
    await second.refreshLiveState();
    assert.equal(errorName(await health()), 'AuthenticationFailedException');
  });

  it('a ciphertext made by one node decrypts on the other (shared keys, same root of trust)', async () => {
    const plaintext = randomBytes(48);
    const encrypted = await xks(first, { operation: 'encrypt', body: encryptBody(plaintext) });
    assert.equal(encrypted.status, 200);
    const decrypted = await xks(secondNode(), { operation: 'decrypt', body: decryptBody(encrypted.json as Record<string, string>) });
    assert.equal(decrypted.status, 200, decrypted.text);
    assert.deepEqual(Buffer.from((decrypted.json as { plaintext: string }).plaintext, 'base64'), plaintext);
  });
});
