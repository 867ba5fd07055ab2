/**
 * Shamir unseal at the root-of-trust level: share encoding, split/combine, and a root that starts
 * sealed and becomes a software root over the reconstructed master key once M verified shares are in.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ShamirRootConfig } from '../../src/roots/root-config.js';
import { readRootConfig } from '../../src/roots/root-config.js';
import { RootSealedError, sealContext } from '../../src/roots/root-of-trust.js';
import { initShamirRoot } from '../../src/roots/shamir/init-shamir.js';
import {
  createSealableRoot,
  createVerifier,
  isSealableRoot,
  WRONG_SHARES,
  type SealableRoot,
} from '../../src/roots/shamir/sealable-root.js';
import { combineShares, decodeShare, encodeShare, splitSecret, validateShareCounts } from '../../src/roots/shamir/shares.js';
import { createSoftwareRoot } from '../../src/roots/software-root.js';
import { dataDirPaths } from '../../src/core/data-dir.js';
import { managementError } from '../helpers/management-errors.js';

const KEY_CONTEXT = sealContext.keyMaterial('00000000-0000-0000-0000-000000000001', 1);

/** A master key split N ways, its root.json config, and a key sealed under it (as init leaves them). */
async function shamirSetup(shares: number, threshold: number) {
  const masterKey = randomBytes(32);
  const split = await splitSecret(masterKey, shares, threshold);
  const config: ShamirRootConfig = {
    kind: 'shamir',
    shares,
    threshold,
    shareSet: split.shareSet,
    verifier: await createVerifier(masterKey),
  };
  const reference = await createSoftwareRoot(masterKey).createKeyMaterial(KEY_CONTEXT);
  return { masterKey, config, shares: split.shares, reference };
}

/** Encrypts with the key behind `reference` through `root`, and checks the original master key decrypts it. */
async function assertServesKeyFrom(root: SealableRoot, masterKey: Buffer, reference: Buffer): Promise<void> {
  const key = await root.openKey(reference, KEY_CONTEXT);
  const iv = randomBytes(12);
  const plaintext = randomBytes(40);
  const { ciphertext, tag } = await key.encrypt(iv, plaintext, Buffer.from('aad'));
  const original = await createSoftwareRoot(masterKey).openKey(reference, KEY_CONTEXT);
  assert.deepEqual(await original.decrypt(iv, ciphertext, Buffer.from('aad'), tag), plaintext);
}

describe('Shamir shares', () => {
  it('split then combine round-trips a 256-bit key for every threshold-sized subset of 5 shares (3 of 5)', async () => {
    const secret = randomBytes(32);
    const { shares, shareSet } = await splitSecret(secret, 5, 3);
    assert.equal(shares.length, 5);
    assert.match(shareSet, /^[0-9a-f]{8}$/);
    const decoded = shares.map((s) => decodeShare(s, 32));
    for (let a = 0; a < 5; a++)
      for (let b = a + 1; b < 5; b++)
        for (let c = b + 1; c < 5; c++)
          assert.deepEqual(await combineShares([decoded[a]!.bytes, decoded[b]!.bytes, decoded[c]!.bytes]), secret);
    // Two of them give something else entirely.
    assert.notDeepEqual(await combineShares([decoded[0]!.bytes, decoded[1]!.bytes]), secret);
  });

  it('encodes shares as khs1-<number>-<base64url> carrying the share set and a checksum', async () => {
    const { shares, shareSet } = await splitSecret(randomBytes(32), 3, 2);
    shares.forEach((share, i) => {
      assert.match(share, new RegExp(`^khs1-${i + 1}-[A-Za-z0-9_-]{55}$`));
      const decoded = decodeShare(`  ${share}\n`, 32);
      assert.equal(decoded.number, i + 1);
      assert.equal(decoded.shareSet, shareSet);
      assert.equal(encodeShare(decoded.number, decoded.shareSet, decoded.bytes), share);
    });
  });

  it('a typo anywhere in a share is caught by its checksum or its shape', async () => {
    const [share] = (await splitSecret(randomBytes(32), 2, 2)).shares;
    const body = share!.slice('khs1-1-'.length);
    // Every one-character change at every position (the last character also has spare bits).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < body.length; i++) {
      for (const replacement of alphabet) {
        if (replacement === body[i]) continue;
        const typo = `khs1-1-${body.slice(0, i)}${replacement}${body.slice(i + 1)}`;
        assert.throws(() => decodeShare(typo, 32), managementError('invalid', /checksum|wrong length/), `typo ${replacement} at ${i}`);
      }
    }
    assert.throws(() => decodeShare(share!.replace('khs1-1-', 'khs1-2-'), 32), managementError('invalid', /share 2 fails its checksum/));
    assert.throws(() => decodeShare(share!.slice(0, -3), 32), managementError('invalid', /wrong length/));
    assert.throws(() => decodeShare('hello', 32), managementError('invalid', /not a Keyhold share/));
    assert.throws(() => decodeShare('', 32), managementError('invalid', /not a Keyhold share/));
  });

  it('validates counts: 2 ≤ M ≤ N ≤ 255; M = 1 is refused with its reason', () => {
    assert.throws(() => validateShareCounts(3, 1), managementError('invalid', /any single custodian/));
    assert.throws(() => validateShareCounts(2, 3), managementError('invalid', /at least --threshold/));
    assert.throws(() => validateShareCounts(256, 2), managementError('invalid', /at most 255/));
    assert.throws(() => validateShareCounts(2.5, 2), managementError('invalid', /whole numbers/));
    validateShareCounts(2, 2);
    validateShareCounts(255, 255);
  });
});

describe('sealable root', () => {
  it('starts sealed: UNAVAILABLE, and every crypto call rejects with RootSealedError', async () => {
    const { config, reference } = await shamirSetup(3, 2);
    const root = createSealableRoot(config);
    assert.ok(isSealableRoot(root));
    assert.equal(root.kind, 'shamir');
    assert.equal(root.state(), 'UNAVAILABLE');
    assert.deepEqual(root.progress(), { sealed: true, threshold: 2, shares: 3, entered: 0 });
    const calls = [
      () => root.openKey(reference, KEY_CONTEXT),
      () => root.createKeyMaterial(KEY_CONTEXT),
      () => root.importKeyMaterial(randomBytes(32), KEY_CONTEXT),
      () => root.destroyKeyMaterial(reference, KEY_CONTEXT),
      () => root.sealSecret(Buffer.from('x'), 'c'),
      () => root.unsealSecret(reference, 'c'),
    ];
    for (const call of calls) await assert.rejects(call(), RootSealedError);
  });

  it('any M of N shares unseal it (each 3-subset of 5, in any order); M-1 do not', async () => {
    const { config, shares, masterKey, reference } = await shamirSetup(5, 3);
    const subsets = [
      [0, 1, 2],
      [4, 2, 0],
      [3, 4, 1],
      [2, 3, 4],
    ];
    for (const subset of subsets) {
      const root = createSealableRoot(config);
      assert.deepEqual(await root.enterShare(shares[subset[0]!]!), { sealed: true, threshold: 3, shares: 5, entered: 1 });
      assert.deepEqual(await root.enterShare(shares[subset[1]!]!), { sealed: true, threshold: 3, shares: 5, entered: 2 });
      assert.equal(root.state(), 'UNAVAILABLE', 'M-1 shares leave it sealed');
      await assert.rejects(root.openKey(reference, KEY_CONTEXT), RootSealedError);
      assert.deepEqual(await root.enterShare(shares[subset[2]!]!), { sealed: false, threshold: 3, shares: 5, entered: 0 });
      assert.equal(root.state(), 'ACTIVE');
      await assertServesKeyFrom(root, masterKey, reference);
      await assert.rejects(root.enterShare(shares[0]!), managementError('conflict', /already unsealed/));
    }
  });

  it('a duplicate share is refused and does not count', async () => {
    const { config, shares } = await shamirSetup(3, 2);
    const root = createSealableRoot(config);
    await root.enterShare(shares[1]!);
    await assert.rejects(root.enterShare(shares[1]!), managementError('conflict', /share 2 was already entered \(1 of 2/));
    assert.deepEqual(root.progress(), { sealed: true, threshold: 2, shares: 3, entered: 1 });
  });

  it('a share from another init is refused at entry; progress is unchanged', async () => {
    const { config, shares } = await shamirSetup(3, 2);
    const other = await shamirSetup(3, 2);
    const root = createSealableRoot(config);
    await root.enterShare(shares[0]!);
    await assert.rejects(root.enterShare(other.shares[1]!), managementError('invalid', /belongs to another Keyhold init/));
    assert.deepEqual(root.progress(), { sealed: true, threshold: 2, shares: 3, entered: 1 });
    await root.enterShare(shares[2]!);
    assert.equal(root.state(), 'ACTIVE');
  });

  it('a corrupted share is refused at entry; progress is unchanged', async () => {
    const { config, shares } = await shamirSetup(3, 2);
    const root = createSealableRoot(config);
    await root.enterShare(shares[0]!);
    const corrupted = shares[1]!.slice(0, 20) + (shares[1]![20] === 'x' ? 'y' : 'x') + shares[1]!.slice(21);
    await assert.rejects(root.enterShare(corrupted), managementError('invalid', /checksum/));
    assert.deepEqual(root.progress(), { sealed: true, threshold: 2, shares: 3, entered: 1 });
  });

  it('well-formed shares that reconstruct another key give "these shares do not reconstruct this node\'s master key", discard the entered shares and stay sealed', async () => {
    const { config, shares, masterKey, reference } = await shamirSetup(3, 2);
    // A share with this node's set id and a valid checksum, but from a split of another key.
    const foreign = decodeShare((await splitSecret(randomBytes(32), 3, 2)).shares[1]!, 32);
    const forged = encodeShare(2, config.shareSet, foreign.bytes);
    const root = createSealableRoot(config);
    await root.enterShare(shares[0]!);
    await assert.rejects(root.enterShare(forged), managementError('invalid', new RegExp(`^${WRONG_SHARES}`)));
    assert.deepEqual(root.progress(), { sealed: true, threshold: 2, shares: 3, entered: 0 });
    assert.equal(root.state(), 'UNAVAILABLE');
    await assert.rejects(root.openKey(reference, KEY_CONTEXT), RootSealedError);
    // The right shares still work afterwards.
    await root.enterShare(shares[2]!);
    await root.enterShare(shares[0]!);
    await assertServesKeyFrom(root, masterKey, reference);
  });

  it('a root.json verifier from another master key makes even the right shares fail verification', async () => {
    const { config, shares } = await shamirSetup(2, 2);
    const root = createSealableRoot({ ...config, verifier: await createVerifier(randomBytes(32)) });
    await root.enterShare(shares[0]!);
    await assert.rejects(root.enterShare(shares[1]!), (error: unknown) => (error as Error).message.startsWith(WRONG_SHARES));
    assert.equal(root.state(), 'UNAVAILABLE');
  });

  it('reset forgets the entered shares; concurrent entries are taken one at a time', async () => {
    const { config, shares } = await shamirSetup(5, 3);
    const root = createSealableRoot(config);
    await root.enterShare(shares[0]!);
    await root.enterShare(shares[1]!);
    assert.deepEqual(root.resetShares(), { sealed: true, threshold: 3, shares: 5, entered: 0 });
    const results = await Promise.allSettled([
      root.enterShare(shares[2]!),
      root.enterShare(shares[3]!),
      root.enterShare(shares[3]!),
      root.enterShare(shares[4]!),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(root.state(), 'ACTIVE');
  });

  it('refuses a root.json without valid counts, share set and verifier', async () => {
    const { config } = await shamirSetup(3, 2);
    for (const broken of [{ threshold: 1 }, { shares: 1 }, { shareSet: 'zz' }, { verifier: '' }, { shares: 300 }]) {
      assert.throws(() => createSealableRoot({ ...config, ...broken }), /root\.json describes a Shamir root without valid/);
    }
  });
});

describe('initShamirRoot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-shamir-init-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes root.json (no share in it) and credential.key, and returns an open root whose key the shares reconstruct', async () => {
    const paths = dataDirPaths(dir);
    const { root, shares } = await initShamirRoot(paths, { shares: 3, threshold: 2 });
    const reference = await root.createKeyMaterial(KEY_CONTEXT);
    const config = readRootConfig(paths.rootConfig);
    assert.equal(config.kind, 'shamir');
    const text = readFileSync(paths.rootConfig, 'utf8');
    for (const share of shares) assert.ok(!text.includes(share.slice(7, 30)));
    assert.equal(Buffer.from(readFileSync(paths.credentialKey, 'utf8').trim(), 'base64').length, 32);

    const sealed = createSealableRoot(config);
    await sealed.enterShare(shares[2]!);
    await sealed.enterShare(shares[1]!);
    const key = await sealed.openKey(reference, KEY_CONTEXT);
    const sameKey = await root.openKey(reference, KEY_CONTEXT);
    const iv = randomBytes(12);
    const out = await key.encrypt(iv, Buffer.from('hello'), Buffer.alloc(0));
    assert.equal((await sameKey.decrypt(iv, out.ciphertext, Buffer.alloc(0), out.tag)).toString(), 'hello');
  });
});
