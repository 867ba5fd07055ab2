import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorOf } from '../helpers/admin-json.js';
import { admin } from '../helpers/xks-client.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';

describe('admin API request validation', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  it('refuses a body with a field it does not know, rather than dropping it silently', async () => {
    const before = await admin(node, 'GET', '/keys');
    const response = await admin(node, 'POST', '/keys', { id: 'typo-key', keystore: 'demo', usgae: ['ENCRYPT'] });
    assert.equal(response.status, 400);
    assert.match(errorOf(response), /additional properties/i);
    assert.deepEqual((await admin(node, 'GET', '/keys')).json, before.json);
  });
});
