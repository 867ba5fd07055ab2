import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { okBody } from '../helpers/xks-answers.js';
import { decryptBody, encryptBody, healthBody, metadata, xks } from '../helpers/xks-client.js';
import { useTestNode } from '../helpers/xks-suite.js';

const node = useTestNode();

describe('one structured log line per XKS request, never a secret (items 22, 33, 58, 96, 97, 99)', () => {
  it('22/96/99: logs keystore, key, kmsOperation, kmsRequestId, principal, outcome, error and latency', async () => {
    const kmsRequestId = `log-test-${randomBytes(4).toString('hex')}`;
    const body = {
      ...encryptBody(randomBytes(16)),
      requestMetadata: { ...metadata('GenerateDataKey'), kmsRequestId, kmsViaService: 'ebs' },
    };
    assert.equal((await xks(node(), { operation: 'encrypt', body })).status, 200);
    const line = node().logs.find((l) => l.kmsRequestId === kmsRequestId)!;
    assert.ok(line, 'a line with the kmsRequestId');
    assert.equal(line.event, 'xks.request');
    assert.equal(line.keystore, 'demo');
    assert.equal(line.keyId, node().keyId);
    assert.equal(line.keyVersion, 1);
    assert.equal(line.xksOperation, 'Encrypt');
    assert.equal(line.kmsOperation, 'GenerateDataKey');
    assert.equal(line.principal, 'arn:aws:iam::111122223333:role/tester');
    assert.equal(line.kmsViaService, 'ebs');
    assert.equal(line.outcome, 'success');
    assert.equal(line.accessKeyId, node().credential.accessKeyId);
    assert.equal(typeof line.latencyMs, 'number');
  });

  it('99: failures log the error name, and authentication failures their reason', async () => {
    const kmsRequestId = `log-fail-${randomBytes(4).toString('hex')}`;
    await xks(node(), {
      operation: 'encrypt',
      keyId: 'missing',
      body: { ...encryptBody(randomBytes(4)), requestMetadata: { ...metadata('Encrypt'), kmsRequestId } },
    });
    const line = node().logs.find((l) => l.kmsRequestId === kmsRequestId)!;
    assert.equal(line.outcome, 'error');
    assert.equal(line.errorName, 'KeyNotFoundException');
    assert.equal(line.status, 404);

    const before = node().logs.length;
    await xks(node(), { operation: 'health', body: healthBody(), service: 'kms-xks' });
    const authLine = node()
      .logs.slice(before)
      .find((l) => l.errorName === 'AuthenticationFailedException')!;
    assert.equal(authLine.reason, 'wrong-service');
  });

  it('33/58/97: plaintext, decrypt output, AAD, secrets and the Authorization header never reach the log', async () => {
    const plaintext = randomBytes(48);
    const aad = randomBytes(48);
    let authorization = '';
    const encrypted = okBody(
      await xks(node(), {
        operation: 'encrypt',
        body: encryptBody(plaintext, { additionalAuthenticatedData: aad.toString('base64') }),
        mutateHeaders: (headers) => {
          authorization = headers.authorization ?? '';
        },
      }),
      'encrypt',
    );
    const decrypted = okBody(
      await xks(node(), {
        operation: 'decrypt',
        body: decryptBody(encrypted, { additionalAuthenticatedData: aad.toString('base64') }),
      }),
      'decrypt',
    );
    const text = node().logText();
    for (const secret of [
      plaintext.toString('base64'),
      aad.toString('base64'),
      decrypted.plaintext,
      node().credential.secret,
      authorization,
      authorization.split('Signature=')[1]!,
      node().adminToken,
    ]) {
      assert.equal(text.includes(secret), false);
    }
  });

  it('no key material or secret is stored in the clear in the database file', async () => {
    const database = readFileSync(join(node().dataDir, 'keyhold.db'));
    const masterKey = Buffer.from(readFileSync(join(node().dataDir, 'master.key'), 'utf8').trim(), 'base64');
    assert.equal(database.includes(Buffer.from(node().credential.secret)), false);
    assert.equal(database.includes(masterKey), false);
    assert.equal(database.includes(Buffer.from(node().adminToken)), false);
    // The stored material is sealed: decrypting with the wrong context fails, so it is not raw key bytes.
    const { keyStore } = node().node.services;
    const versions = await keyStore.listKeyVersions((await keyStore.listKeys())[0]!.id);
    assert.ok(versions.every((v) => v.sealedMaterial.length === 1 + 12 + 16 + 32));
  });
});
