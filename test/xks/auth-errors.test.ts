import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { sanitizeErrorMessage } from '../../src/xks/errors.js';
import { generateAccessKeyId, generateSecret, validateAccessKeyId, validateSecret } from '../../src/keystores/credentials.js';
import { normalizePrefix } from '../../src/keystores/prefix.js';
import { SPEC_ERROR_STATUS, errorOf, expectError, jsonKeys, type Answer } from '../helpers/xks-answers.js';
import { admin, adminOk, encryptBody, healthBody, metadata, xks } from '../helpers/xks-client.js';
import { useTestNode } from '../helpers/xks-suite.js';

const node = useTestNode();

interface Credential {
  accessKeyId: string;
  secret: string;
}

const expectAuthFailure = (response: Answer) => expectError(response, 401, 'AuthenticationFailedException');

describe('SigV4 on the wire (docs/requirements.md#authentication)', () => {
  it('79: all four APIs require a signature: unsigned → 401', async () => {
    for (const operation of ['health', 'metadata', 'encrypt', 'decrypt'] as const) {
      expectAuthFailure(await xks(node(), { operation, signer: 'none', body: healthBody() }));
    }
  });

  it('79/82: both KMS-style (host;x-amz-date) and curl-style (content-type;host;x-amz-date) signatures verify', async () => {
    assert.equal((await xks(node(), { operation: 'health', signer: 'kms', body: healthBody() })).status, 200);
    assert.equal((await xks(node(), { operation: 'health', signer: 'aws4', body: healthBody() })).status, 200);
  });

  it('80: a wrong access key id or a wrong secret → 401', async () => {
    expectAuthFailure(
      await xks(node(), {
        operation: 'health',
        body: healthBody(),
        credential: { accessKeyId: generateAccessKeyId(), secret: node().credential.secret },
      }),
    );
    expectAuthFailure(
      await xks(node(), {
        operation: 'health',
        body: healthBody(),
        credential: { accessKeyId: node().credential.accessKeyId, secret: generateSecret() },
      }),
    );
  });

  it('81: timestamps more than 5 minutes away → 401; within 5 minutes → 200', async () => {
    const now = Date.now();
    expectAuthFailure(await xks(node(), { operation: 'health', body: healthBody(), date: now - 301_000 }));
    expectAuthFailure(await xks(node(), { operation: 'health', body: healthBody(), date: now + 301_000 }));
    assert.equal((await xks(node(), { operation: 'health', body: healthBody(), date: now - 240_000 })).status, 200);
    assert.equal((await xks(node(), { operation: 'health', body: healthBody(), date: now + 240_000 })).status, 200);
  });

  it('82: wrong service or region in the scope → 401', async () => {
    expectAuthFailure(await xks(node(), { operation: 'health', body: healthBody(), service: 'kms-xks' }));
    expectAuthFailure(await xks(node(), { operation: 'health', body: healthBody(), region: 'eu-west-1' }));
  });

  it('79: a body changed after signing → 401 (the raw body is hashed)', async () => {
    const body = encryptBody(randomBytes(16));
    const tampered = JSON.stringify({ ...body, plaintext: randomBytes(16).toString('base64') });
    expectAuthFailure(await xks(node(), { operation: 'encrypt', body, sendBody: tampered }));
  });

  it('83/86/87: a second credential works at once beside the first, with no restart; a removed one stops at once', async () => {
    const second = await adminOk<Credential>(node(), 'POST', '/keystores/demo/credentials', {});
    assert.equal((await xks(node(), { operation: 'health', body: healthBody(), credential: second })).status, 200);
    assert.equal((await xks(node(), { operation: 'health', body: healthBody() })).status, 200);
    assert.equal((await admin(node(), 'DELETE', `/keystores/demo/credentials/${second.accessKeyId}`)).status, 204);
    expectAuthFailure(await xks(node(), { operation: 'health', body: healthBody(), credential: second }));
    assert.equal((await xks(node(), { operation: 'health', body: healthBody() })).status, 200);
  });

  it('a keystore refuses to lose its last credential', async () => {
    const response = await admin(node(), 'DELETE', `/keystores/demo/credentials/${node().credential.accessKeyId}`);
    assert.equal(response.status, 409);
    assert.equal((await xks(node(), { operation: 'health', body: healthBody() })).status, 200);
  });

  it('83: a credential of another keystore (prefix) does not authenticate here', async () => {
    const { credential } = await adminOk<{ credential: Credential }>(node(), 'POST', '/keystores', { name: 'other', prefix: '/other' });
    expectAuthFailure(await xks(node(), { operation: 'health', body: healthBody(), credential }));
    const path = '/other/kms/xks/v1/health';
    assert.equal((await xks(node(), { path, body: healthBody(), credential })).status, 200);
  });

  it('migration: an existing credential given to keystore create works as given', async () => {
    const accessKeyId = 'BETWEEN2TENAND3TENCHARACTERS';
    const secret = 'PleaseReplaceThisWithSomeSecretOfLength43To64';
    const created = await admin(node(), 'POST', '/keystores', {
      name: 'migrated',
      prefix: '/example/uri/path/prefix',
      accessKeyId,
      secret,
    });
    assert.equal(created.status, 201, created.text);
    const response = await xks(node(), {
      path: '/example/uri/path/prefix/kms/xks/v1/health',
      body: healthBody(),
      credential: { accessKeyId, secret },
    });
    assert.equal(response.status, 200);
  });
});

describe('credential and prefix rules (items 13, 14, 84, 85)', () => {
  it('84: access key ids are 20-30 chars of A-Z2-7 and secrets 43-64 chars of Base64 characters', () => {
    validateAccessKeyId('BETWEEN2TENAND3TENCHARACTERS');
    for (const bad of ['SHORT', 'A'.repeat(31), 'ABCDEFGHIJKLMNOPQRS1', 'abcdefghijklmnopqrstu'])
      assert.throws(() => validateAccessKeyId(bad));
    validateSecret('PleaseReplaceThisWithSomeSecretOfLength43To64');
    for (const bad of ['x'.repeat(42), 'x'.repeat(65), `${'x'.repeat(43)}-`]) assert.throws(() => validateSecret(bad));
  });

  it('84/85: generated ids are 24 Base32 characters, independent of 256-bit secrets', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const id = generateAccessKeyId();
      validateAccessKeyId(id);
      assert.equal(id.length, 24);
      ids.add(id);
      const secret = generateSecret();
      validateSecret(secret);
      assert.equal(Buffer.from(secret, 'base64').length, 32);
    }
    assert.equal(ids.size, 50);
  });

  it('13/14: prefixes are validated so every URI path stays within the limits', () => {
    assert.equal(normalizePrefix('/acme'), '/acme');
    assert.equal(normalizePrefix('/acme/kms/xks/v1'), '/acme');
    assert.equal(normalizePrefix('/a/b/'), '/a/b');
    assert.equal(normalizePrefix('/'), '');
    for (const bad of ['acme', '/a.b', '/a b', '/a//b', `/${'x'.repeat(64)}`, '/api', '/ping/x', '/a/kms/xks/b', '/%41']) {
      assert.throws(() => normalizePrefix(bad), bad);
    }
  });
});

describe('error model (docs/requirements.md#errors)', () => {
  it('72/74: error bodies are JSON {errorName, errorMessage?} with the status the spec gives their name (docs/requirements.md#errors)', async () => {
    const cases = [
      await xks(node(), { operation: 'encrypt', body: { requestMetadata: metadata('Encrypt') } }),
      await xks(node(), { operation: 'encrypt', keyId: 'nope', body: encryptBody(randomBytes(4)) }),
      await xks(node(), { path: '/nope/kms/xks/v1/health', body: healthBody() }),
      await xks(node(), { operation: 'health', signer: 'none', body: healthBody() }),
    ];
    for (const response of cases) {
      assert.equal(response.headers['content-type'], 'application/json');
      const error = errorOf(response);
      assert.ok(error, response.text);
      assert.equal(response.status, SPEC_ERROR_STATUS[error.errorName], error.errorName);
      assert.ok(jsonKeys(response).every((k) => k === 'errorName' || k === 'errorMessage'));
    }
  });

  it('73: error messages are under 512 printable ASCII characters', () => {
    const cleaned = sanitizeErrorMessage(`bad\u0000\u00e9\n${'x'.repeat(600)}`);
    assert.ok(cleaned.length < 512);
    assert.match(cleaned, /^[\x20-\x7e]*$/);
  });

  it('7/19/20/21/24: 2048-char ARNs, unknown kmsOperation, opaque kmsRequestId and unknown fields are accepted', async () => {
    const arn = `arn:aws:iam::111122223333:role/${'r'.repeat(2048 - 31)}`;
    assert.equal(arn.length, 2048);
    for (const kmsRequestId of ['abc', 'x:y/z', '', '🙂']) {
      const body = {
        ...encryptBody(randomBytes(8)),
        requestMetadata: {
          ...metadata('BulkEncrypt'),
          awsPrincipalArn: arn,
          kmsKeyArn: arn,
          kmsRequestId,
          SourceIdentity: 'future',
          tags: { a: 'b' },
        },
        futureTopLevelField: [1, 2, 3],
      };
      const response = await xks(node(), { operation: 'encrypt', body });
      assert.equal(response.status, 200, response.text);
    }
  });

  it('a non-JSON Content-Type on an authenticated request → 400 ValidationException', async () => {
    const response = await xks(node(), { operation: 'health', body: healthBody(), signer: 'aws4', contentType: 'text/plain' });
    expectError(response, 400, 'ValidationException');
  });

  it('77: a disabled keystore answers InvalidStateException (health included)', async () => {
    assert.equal((await adminOk<{ status: string }>(node(), 'POST', '/keystores/demo/disable')).status, 'DISABLED');
    try {
      for (const operation of ['health', 'encrypt'] as const) {
        const response = await xks(node(), { operation, body: operation === 'health' ? healthBody() : encryptBody(randomBytes(4)) });
        expectError(response, 400, 'InvalidStateException', operation);
      }
    } finally {
      await admin(node(), 'POST', '/keystores/demo/enable');
    }
    assert.equal((await xks(node(), { operation: 'health', body: healthBody() })).status, 200);
  });

  it('a body over 64 KiB → 501 UnsupportedOperationException without reading it all', async () => {
    const response = await xks(node(), { operation: 'encrypt', body: { pad: 'x'.repeat(70_000) } });
    expectError(response, 501, 'UnsupportedOperationException');
  });
});
