/**
 * Lifecycle changes made on one node of a fleet reach the other on its next scheduler pass: a rotation
 * (the other node decrypts the new version's ciphertexts), a blocked key, a blocked keystore and the
 * node-wide kill switch, and policies. Two real nodes on one PostgreSQL database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTwoNodeFleet, type TwoNodeFleet } from '../helpers/fleet.js';
import { field, stringFields, text } from '../helpers/json-fields.js';
import type { TestNode } from '../helpers/node-harness.js';
import { admin, decryptBody, encryptBody, healthBody, xks } from '../helpers/xks-client.js';

/** The key version an Encrypt answer's ciphertext metadata names (Keyhold's metadata: format byte, then the version). */
const versionOf = (encrypted: unknown) => Buffer.from(text(encrypted, 'ciphertextMetadata'), 'base64').readUInt32BE(1);

describe('lifecycle changes across a fleet on one PostgreSQL database', () => {
  let fleet: TwoNodeFleet | undefined;
  const started = () => fleet ?? assert.fail('the fleet did not start');
  const first = () => started().first;
  const second = () => started().second;
  const secondNode = () => started().secondNode();
  /** The errorName (or undefined) of an Encrypt on `node`. */
  const encryptError = async (node: TestNode) =>
    field((await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(8)) })).json, 'errorName');

  before(async () => {
    fleet = await startTwoNodeFleet();
  });

  after(() => fleet?.close());

  it('a rotation on one node: after its next pass the other encrypts with and decrypts the new version', async () => {
    assert.equal((await admin(first(), 'POST', `/keys/${first().keyId}/rotate`)).status, 200);
    const plaintext = randomBytes(32);
    const encrypted = await xks(first(), { operation: 'encrypt', body: encryptBody(plaintext) });
    assert.equal(versionOf(encrypted.json), 2);
    await second().scheduler.tick();
    const decrypted = await xks(secondNode(), { operation: 'decrypt', body: decryptBody(stringFields(encrypted.json)) });
    assert.equal(decrypted.status, 200, decrypted.text);
    assert.deepEqual(Buffer.from(text(decrypted.json, 'plaintext'), 'base64'), plaintext);
    const fromSecond = await xks(secondNode(), { operation: 'encrypt', body: encryptBody(plaintext) });
    assert.equal(versionOf(fromSecond.json), 2);
  });

  for (const [what, on, off] of [
    ['a blocked key', ['POST', `/keys/demo-key/block`, { reason: 'r' }], ['POST', `/keys/demo-key/unblock`]],
    ['a blocked keystore', ['POST', '/keystores/demo/block', { reason: 'r' }], ['POST', '/keystores/demo/unblock']],
    ['the node-wide kill switch', ['PUT', '/node/kill-switch', { on: true, reason: 'r' }], ['PUT', '/node/kill-switch', { on: false }]],
  ] as const) {
    it(`${what}: refused on the other node after its next pass, and released the same way`, async () => {
      const [method, path, body] = on;
      assert.equal((await admin(first(), method, path, body)).status, 200);
      assert.equal(await encryptError(first()), 'InvalidStateException');
      await second().scheduler.tick();
      assert.equal(await encryptError(secondNode()), 'InvalidStateException');
      const [offMethod, offPath, offBody] = off;
      assert.equal((await admin(first(), offMethod, offPath, offBody)).status, 200);
      await second().scheduler.tick();
      assert.equal((await xks(secondNode(), { operation: 'encrypt', body: encryptBody(randomBytes(8)) })).status, 200);
    });
  }

  it('a policy changed on one node applies on the other after its next pass', async () => {
    const denyAll = { name: 'fleet-deny', attach: { keystore: 'demo' }, rules: [{ effect: 'deny', principal: ['*'] }] };
    assert.equal((await admin(first(), 'POST', '/policies', denyAll)).status, 201);
    assert.equal(await encryptError(first()), 'AccessDeniedException');
    await second().scheduler.tick();
    assert.equal(await encryptError(secondNode()), 'AccessDeniedException');
    assert.equal((await admin(first(), 'DELETE', '/policies/fleet-deny')).status, 204);
    await second().scheduler.tick();
    assert.equal((await xks(secondNode(), { operation: 'encrypt', body: encryptBody(randomBytes(8)) })).status, 200);
  });

  it('a change stamped by a writer whose clock runs minutes behind still reaches the other node (syncLive follows the change sequence, not the stamps)', async () => {
    const { keystoreStore, keyStore } = first().node.services;
    const keystore = await keystoreStore.getKeystoreByName('demo');
    const key = keystore && (await keyStore.getKey(keystore.groupId, first().keyId));
    assert.ok(key, 'the demo key exists');
    // The other node has read everything up to now; a writer 4 minutes behind then blocks the key.
    await second().scheduler.tick();
    assert.ok(await keyStore.updateKey(key.id, { status: 'BLOCKED', blockReason: 'skewed writer' }, Date.now() - 4 * 60_000));
    await second().scheduler.tick();
    assert.equal(await encryptError(secondNode()), 'InvalidStateException');
    assert.ok(await keyStore.updateKey(key.id, { status: 'ENABLED', blockReason: null }, Date.now()));
    await second().scheduler.tick();
    assert.equal((await xks(secondNode(), { operation: 'encrypt', body: encryptBody(randomBytes(8)) })).status, 200);
  });

  it('15: a keystore quota set on one node applies on the other after its next pass, per node; removing it too', async () => {
    // One request per 1000 s with a burst of one: each node admits exactly one, then throttles.
    assert.equal((await admin(first(), 'PUT', '/keystores/demo/quota', { rps: 0.001, burst: 1 })).status, 200);
    await second().scheduler.tick();
    for (const node of [first(), secondNode()]) {
      assert.equal((await xks(node, { operation: 'health', body: healthBody() })).status, 200);
      assert.equal(field((await xks(node, { operation: 'health', body: healthBody() })).json, 'errorName'), 'ThrottlingException');
    }
    assert.equal((await admin(first(), 'DELETE', '/keystores/demo/quota')).status, 200);
    await second().scheduler.tick();
    for (let i = 0; i < 3; i++) assert.equal((await xks(secondNode(), { operation: 'health', body: healthBody() })).status, 200);
  });
});
