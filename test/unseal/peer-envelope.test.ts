/**
 * Peer unseal's two pieces without a node (docs/fleet.md#unseal): the master key sealed to a requester's
 * ephemeral X25519 key (src/unseal/peer-envelope.ts), and the Shamir root taking a whole master key only
 * when it opens root.json's verifier (SealableRoot.enterMasterKey).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { RootSealedError } from '../../src/roots/root-of-trust.js';
import { createSealableRoot, createVerifier, WRONG_ROOT } from '../../src/roots/shamir/sealable-root.js';
import { splitSecret } from '../../src/roots/shamir/shares.js';
import { ephemeralKeyPair, openSealedPeerRoot, parseSealedPeerRoot, sealRootForPeer } from '../../src/unseal/peer-envelope.js';

describe('the master key sealed to a peer’s ephemeral X25519 key', () => {
  const masterKey = randomBytes(32);

  it('opens with the requester’s private key, and the envelope holds no byte run of the key', () => {
    const pair = ephemeralKeyPair();
    const sealed = sealRootForPeer({ nodeId: 'node-b', publicKey: pair.publicKey }, 'node-a', masterKey);
    assert.equal(sealed.nodeId, 'node-a');
    const wire = JSON.stringify(sealed);
    for (const encoding of ['base64', 'hex', 'base64url'] as const)
      assert.ok(!wire.includes(masterKey.toString(encoding)), `the key (${encoding}) in the envelope`);
    assert.ok(!Buffer.from(wire).includes(masterKey.subarray(0, 8)), 'raw key bytes in the envelope');
    assert.deepEqual(openSealedPeerRoot(pair, 'node-b', parseSealedPeerRoot(JSON.parse(wire)) ?? assert.fail('not parsed')), masterKey);
  });

  it('does not open with another private key, for another requester id, or changed on the way', () => {
    const pair = ephemeralKeyPair();
    const sealed = sealRootForPeer({ nodeId: 'node-b', publicKey: pair.publicKey }, 'node-a', masterKey);
    const other = ephemeralKeyPair();
    assert.throws(() => openSealedPeerRoot({ privateKey: other.privateKey, publicKey: pair.publicKey }, 'node-b', sealed));
    assert.throws(() => openSealedPeerRoot(pair, 'node-c', sealed));
    assert.throws(() => openSealedPeerRoot(pair, 'node-b', { ...sealed, nodeId: 'node-x' }));
    const flipped = Buffer.from(sealed.ciphertext, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    assert.throws(() => openSealedPeerRoot(pair, 'node-b', { ...sealed, ciphertext: flipped.toString('base64') }));
    assert.throws(() => openSealedPeerRoot(pair, 'node-b', { ...sealed, publicKey: other.publicKey }));
  });

  it('refuses a public key that is not X25519, with one line', () => {
    assert.throws(() => sealRootForPeer({ nodeId: 'b', publicKey: 'bm90IGEga2V5' }, 'a', masterKey), /not an SPKI-encoded public key/);
    assert.equal(parseSealedPeerRoot({ nodeId: 'a' }), undefined);
  });
});

describe('a Shamir root unsealed by a whole master key (SealableRoot.enterMasterKey)', () => {
  async function shamirRoot(masterKey: Buffer) {
    const { shareSet, shares } = await splitSecret(masterKey, 3, 2);
    return {
      root: createSealableRoot({ kind: 'shamir', shares: 3, threshold: 2, shareSet, verifier: await createVerifier(masterKey) }),
      shares,
    };
  }

  it('takes the right key, and can then hand a copy of it on (exportMasterKey)', async () => {
    const masterKey = randomBytes(32);
    const { root } = await shamirRoot(masterKey);
    assert.throws(() => root.exportMasterKey(), RootSealedError);
    const progress = await root.enterMasterKey(masterKey);
    assert.equal(progress.sealed, false);
    assert.equal(root.state(), 'ACTIVE');
    assert.deepEqual(root.exportMasterKey(), masterKey);
    await root.close();
    assert.throws(() => root.exportMasterKey(), RootSealedError);
  });

  it('refuses a wrong key (or one of the wrong length) and stays sealed, shares entered so far kept', async () => {
    const { root, shares } = await shamirRoot(randomBytes(32));
    await root.enterShare(shares[0] ?? '');
    await assert.rejects(root.enterMasterKey(randomBytes(32)), { message: WRONG_ROOT });
    await assert.rejects(root.enterMasterKey(randomBytes(16)), { message: WRONG_ROOT });
    assert.equal(root.state(), 'UNAVAILABLE');
    assert.equal(root.progress().entered, 1);
    assert.equal((await root.enterShare(shares[1] ?? '')).sealed, false);
  });
});
