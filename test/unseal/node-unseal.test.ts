/**
 * A Shamir node end to end over HTTPS: it starts sealed (KMS still authenticates and reads health
 * UNAVAILABLE, key operations answer the sealed error), unseals through the admin API without restart,
 * is sealed again after a restart, and the shares are nowhere on disk.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../../src/core/clock.js';
import { WRONG_SHARES } from '../../src/roots/shamir/sealable-root.js';
import { decodeShare, encodeShare, splitSecret } from '../../src/roots/shamir/shares.js';
import { startNode } from '../../src/server/node.js';
import { SEALED_MESSAGE } from '../../src/unseal/gate.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { ekmHealth } from '../helpers/ekm-health.js';
import { field, stringFields, text } from '../helpers/json-fields.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';
import { admin, closeAgents, decryptBody, encryptBody, healthBody, metadata, xks } from '../helpers/xks-client.js';

const SEALED = { errorName: 'InternalException', errorMessage: SEALED_MESSAGE };

async function healthStatus(node: TestNode, signer: 'kms' | 'aws4' = 'kms'): Promise<unknown> {
  const health = await ekmHealth(node, signer);
  assert.equal(health.status, 200, health.text);
  assert.equal(health.ekms, 1);
  return health.healthStatus;
}

/** The `error` line of an admin API refusal. */
const errorOf = (response: { json: unknown }) => text(response.json, 'error');

/** Where the unseal ceremony stands (GET /api/v1/unseal). */
const unsealStatus = async (node: TestNode): Promise<unknown> => (await admin(node, 'GET', '/unseal')).json;

async function assertKeyOperationsSealed(node: TestNode, encrypted: Record<string, string>): Promise<void> {
  for (const [operation, body] of [
    ['encrypt', encryptBody(Buffer.from('sealed?'))],
    ['decrypt', decryptBody(encrypted)],
    ['metadata', { requestMetadata: metadata('DescribeKey') }],
  ] as const) {
    const response = await xks(node, { operation, body });
    assert.equal(response.status, 500, `${operation}: ${response.text}`);
    assert.deepEqual(response.json, SEALED, operation);
  }
  // Even a key that does not exist: a sealed node says it is sealed before resolving keys.
  const unknown = await xks(node, { operation: 'metadata', keyId: 'no-such-key', body: { requestMetadata: metadata('DescribeKey') } });
  assert.deepEqual(unknown.json, SEALED);
}

/** Every file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('a Shamir node (3 shares, threshold 2)', () => {
  let node: TestNode;
  let shares: string[];
  let encrypted: Record<string, string>;
  const plaintext = randomBytes(48);

  before(async () => {
    node = await startTestNode({ shamir: { shares: 3, threshold: 2 } });
    shares = node.shares!;
  });
  after(async () => node.close());

  it('starts sealed: GetHealthStatus answers 200 with healthStatus UNAVAILABLE to SigV4-signed calls (both signers)', async () => {
    assert.equal(await healthStatus(node, 'kms'), 'UNAVAILABLE');
    assert.equal(await healthStatus(node, 'aws4'), 'UNAVAILABLE');
    const unsigned = await xks(node, { operation: 'health', body: healthBody(), signer: 'none' });
    assert.equal(unsigned.status, 401, 'SigV4 is still required while sealed');
  });

  it('answers Encrypt, Decrypt and GetKeyMetadata with 500 InternalException and the sealed message', async () => {
    const fake = {
      ciphertext: randomBytes(16).toString('base64'),
      initializationVector: randomBytes(12).toString('base64'),
      authenticationTag: randomBytes(16).toString('base64'),
    };
    await assertKeyOperationsSealed(node, fake);
    const log = node.logs.find((line) => line.event === 'xks.request' && line.xksOperation === 'Encrypt');
    assert.ok(log, 'the request was logged');
    assert.equal(log.errorName, 'InternalException');
    assert.equal(log.reason, 'node sealed');
  });

  it('GET /api/v1/unseal reports sealed, threshold and shares entered; the node status says UNAVAILABLE', async () => {
    const status = await admin(node, 'GET', '/unseal');
    assert.equal(status.status, 200);
    assert.deepEqual(status.json, {
      sealed: true,
      rootOfTrust: 'shamir',
      threshold: 2,
      shares: 3,
      entered: 0,
      message: 'sealed: 0 of 2 shares entered (3 exist)',
    });
    const nodeStatus = await admin(node, 'GET', '/node');
    assert.equal(field(nodeStatus.json, 'ekmHealth'), 'UNAVAILABLE');
    assert.equal(field(nodeStatus.json, 'rootOfTrust'), 'shamir');
  });

  it('while sealed, key changes are refused with 409 and change nothing; reads and keystores still work', async () => {
    const before: unknown = (await admin(node, 'GET', '/keys')).json;
    const create = await admin(node, 'POST', '/keys', { id: 'while-sealed', keystore: 'demo' });
    assert.equal(create.status, 409, create.text);
    assert.match(errorOf(create), /sealed/);
    const disable = await admin(node, 'POST', `/keys/${node.keyId}/disable`);
    assert.equal(disable.status, 409, disable.text);
    assert.deepEqual((await admin(node, 'GET', '/keys')).json, before);
    // Credentials are sealed under the credential key, so a new keystore works (and authenticates) while sealed.
    const keystore = await admin(node, 'POST', '/keystores', { name: 'sealed-time', prefix: '/sealed-time' });
    assert.equal(keystore.status, 201, keystore.text);
    const credential = {
      accessKeyId: text(keystore.json, 'credential', 'accessKeyId'),
      secret: text(keystore.json, 'credential', 'secret'),
    };
    const health = await xks(node, { path: '/sealed-time/kms/xks/v1/health', body: healthBody(), credential });
    assert.equal(health.status, 200, health.text);
    assert.equal(field(health.json, 'ekmFleetDetails', 0, 'healthStatus'), 'UNAVAILABLE');
  });

  it('refuses a malformed, corrupted, foreign or duplicate share with a clear error and unchanged progress', async () => {
    const accepted = await admin(node, 'POST', '/unseal', { share: shares[0] });
    assert.equal(accepted.status, 200, accepted.text);
    assert.equal(field(accepted.json, 'message'), 'sealed: 1 of 2 shares entered (3 exist)');

    const foreign = (await splitSecret(randomBytes(32), 3, 2)).shares[1]!;
    const corrupted = shares[1]!.slice(0, 30) + (shares[1]![30] === 'Q' ? 'R' : 'Q') + shares[1]!.slice(31);
    const cases: [unknown, number, RegExp][] = [
      [{ share: 'not a share' }, 400, /not a Keyhold share/],
      [{ share: corrupted }, 400, /fails its checksum/],
      [{ share: foreign }, 400, /belongs to another Keyhold init/],
      [{ share: shares[0] }, 409, /share 1 was already entered/],
      [{}, 400, /share/],
      [{ share: 42 }, 400, /share/],
    ];
    for (const [body, status, reason] of cases) {
      const response = await admin(node, 'POST', '/unseal', body);
      assert.equal(response.status, status, response.text);
      assert.match(errorOf(response), reason);
      assert.equal(field(await unsealStatus(node), 'entered'), 1, `progress unchanged after ${JSON.stringify(body)}`);
    }
    assert.equal(await healthStatus(node), 'UNAVAILABLE');
  });

  it('well-formed shares of another key: "these shares do not reconstruct this node\'s master key", entered shares discarded, still sealed', async () => {
    const shareSet = decodeShare(shares[0]!, 32).shareSet;
    const forged = encodeShare(3, shareSet, decodeShare((await splitSecret(randomBytes(32), 3, 2)).shares[2]!, 32).bytes);
    const response = await admin(node, 'POST', '/unseal', { share: forged });
    assert.equal(response.status, 400, response.text);
    assert.ok(errorOf(response).startsWith(WRONG_SHARES), errorOf(response));
    const status = await unsealStatus(node);
    assert.equal(field(status, 'sealed'), true);
    assert.equal(field(status, 'entered'), 0);
    assert.equal(await healthStatus(node), 'UNAVAILABLE');
  });

  it('DELETE /api/v1/unseal discards the shares entered so far', async () => {
    await admin(node, 'POST', '/unseal', { share: shares[2] });
    assert.equal(field(await unsealStatus(node), 'entered'), 1);
    const reset = await admin(node, 'DELETE', '/unseal');
    assert.equal(reset.status, 200, reset.text);
    assert.equal(field(reset.json, 'entered'), 0);
  });

  it('the threshold-th share unseals it without restart: keys open, health ACTIVE, Encrypt/Decrypt/GetKeyMetadata serve', async () => {
    assert.equal(field((await admin(node, 'POST', '/unseal', { share: shares[2] })).json, 'entered'), 1);
    const done = await admin(node, 'POST', '/unseal', { share: shares[1] });
    assert.equal(done.status, 200, done.text);
    assert.equal(field(done.json, 'sealed'), false);
    assert.match(text(done.json, 'message'), /^unsealed/);
    assert.equal(await healthStatus(node), 'ACTIVE');
    const metadataResponse = await xks(node, { operation: 'metadata', body: { requestMetadata: metadata('DescribeKey') } });
    assert.equal(metadataResponse.status, 200, metadataResponse.text);
    const encryptResponse = await xks(node, { operation: 'encrypt', body: encryptBody(plaintext) });
    assert.equal(encryptResponse.status, 200, encryptResponse.text);
    encrypted = stringFields(encryptResponse.json);
    const decryptResponse = await xks(node, { operation: 'decrypt', body: decryptBody(encrypted) });
    assert.deepEqual(Buffer.from(text(decryptResponse.json, 'plaintext'), 'base64'), plaintext);
    const again = await admin(node, 'POST', '/unseal', { share: shares[0] });
    assert.equal(again.status, 409);
    assert.match(errorOf(again), /already unsealed/);
    // Key changes work again.
    assert.equal((await admin(node, 'POST', '/keys', { id: 'after-unseal', keystore: 'demo' })).status, 201);
  });

  it('after a restart the node is sealed again; unsealed with two other shares, the same ciphertext decrypts', async () => {
    await node.node.close();
    closeAgents();
    node.node = await startNode({
      dataDir: node.dataDir,
      host: '127.0.0.1',
      port: node.port,
      logger: pino({ level: 'silent' }),
      clock: systemClock,
    });
    assert.equal(await healthStatus(node), 'UNAVAILABLE');
    await assertKeyOperationsSealed(node, encrypted);
    assert.equal(field(await unsealStatus(node), 'entered'), 0);

    await admin(node, 'POST', '/unseal', { share: shares[0] });
    assert.equal(field((await admin(node, 'POST', '/unseal', { share: shares[2] })).json, 'sealed'), false);
    const response = await xks(node, { operation: 'decrypt', body: decryptBody(encrypted) });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(Buffer.from(text(response.json, 'plaintext'), 'base64'), plaintext);
    assert.equal(
      (await xks(node, { operation: 'metadata', keyId: 'after-unseal', body: { requestMetadata: metadata('DescribeKey') } })).status,
      200,
    );
  });

  it('the shares are nowhere in the data directory (database and WAL included) nor in the log, as text or as bytes', () => {
    const needles: [string, Buffer][] = [];
    for (const share of shares) {
      const decoded = decodeShare(share, 32);
      const payload = Buffer.from(share.split('-').slice(2).join('-'), 'base64url');
      needles.push(
        [`${share} as text`, Buffer.from(share)],
        [`${share} payload`, payload],
        [`${share} share bytes`, Buffer.from(decoded.bytes)],
      );
      needles.push([`${share} share bytes base64`, Buffer.from(Buffer.from(decoded.bytes).toString('base64'))]);
      needles.push([`${share} share bytes hex`, Buffer.from(Buffer.from(decoded.bytes).toString('hex'))]);
    }
    const files = filesUnder(node.dataDir);
    assert.ok(
      files.some((f) => f.endsWith('keyhold.db')),
      'the database is scanned',
    );
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const [label, needle] of needles) assert.equal(bytes.indexOf(needle), -1, `${label} found in ${file}`);
    }
    for (const [label, needle] of needles.filter(([label]) => label.endsWith('as text'))) {
      assert.ok(!node.logText().includes(needle.toString()), `${label} found in the log`);
    }
  });
});

describe('a master-key-file node', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(async () => node.close());

  it('is never sealed: GET /unseal says so, POST and DELETE answer 409', async () => {
    const status = await admin(node, 'GET', '/unseal');
    assert.equal(status.status, 200);
    assert.equal(field(status.json, 'sealed'), false);
    assert.equal(field(status.json, 'rootOfTrust'), 'software');
    const post = await admin(node, 'POST', '/unseal', { share: 'khs1-1-abc' });
    assert.equal(post.status, 409);
    assert.match(errorOf(post), /nothing to unseal/);
    assert.equal((await admin(node, 'DELETE', '/unseal')).status, 409);
    assert.equal(await healthStatus(node), 'ACTIVE');
  });
});

describe('a Shamir node on PostgreSQL', () => {
  let node: TestNode | undefined;
  let database: ScratchDatabase | undefined;
  before(async () => {
    database = await createScratchDatabase();
    node = await startTestNode({ databaseUrl: database.url, shamir: { shares: 2, threshold: 2 } });
  });
  after(async () => {
    await node?.close();
    await database?.drop();
  });

  it('starts sealed, unseals via the admin API, and no share is in a dump of the database (text, bytes as hex or base64)', async () => {
    assert.ok(node && database, 'the node started');
    const [first, second] = node.shares ?? [];
    assert.ok(first && second, 'init printed two shares');
    assert.equal(await healthStatus(node), 'UNAVAILABLE');
    await admin(node, 'POST', '/unseal', { share: second });
    assert.equal(field((await admin(node, 'POST', '/unseal', { share: first })).json, 'sealed'), false);
    assert.equal(await healthStatus(node), 'ACTIVE');
    const dump = execFileSync('pg_dump', ['--data-only', '--inserts', database.url], { encoding: 'utf8', timeout: 20_000 });
    assert.match(dump, /INSERT INTO public\.key_versions|INSERT INTO public\.keys/, 'the dump has the key rows');
    for (const share of [first, second]) {
      const bytes = Buffer.from(decodeShare(share, 32).bytes);
      for (const needle of [
        share,
        bytes.toString('hex'),
        bytes.toString('base64'),
        Buffer.from(share.split('-').slice(2).join('-'), 'base64url').toString('hex'),
      ]) {
        assert.ok(!dump.includes(needle), `share ${share.slice(0, 8)}… found in the database`);
      }
    }
  });
});
