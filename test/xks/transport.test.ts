/**
 * Transport, TLS, routing and response-format tests against a real node (
 * docs/requirements.md#transport items 1–5, 8–10, #errors item 75, #authorization-logging-operations item 101), over HTTP/1.1 and HTTP/2.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import type { Agent } from 'node:https';
import { join } from 'node:path';
import { checkServerIdentity, connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { after, describe, it } from 'node:test';
import { h2Session, keepAliveAgent, type RawResponse, sendH2, sendHttps } from '../helpers/raw-http.js';
import { signKmsStyle } from '../helpers/signers.js';
import { errorOf, expectError, jsonKeys, okBody } from '../helpers/xks-answers.js';
import { decryptBody, encryptBody, healthBody, metadata, signForNode, xks } from '../helpers/xks-client.js';
import { createKeys, useTestNode } from '../helpers/xks-suite.js';

let agent: Agent;
const node = useTestNode({
  setUp: async (started) => {
    agent = keepAliveAgent(started, 4);
    await createKeys(
      started,
      {
        'encrypt-only': ['ENCRYPT'],
        'to-disable': ['ENCRYPT', 'DECRYPT'],
        [`k-${'a.b_c-'.repeat(20)}${'x'.repeat(6)}`]: ['ENCRYPT', 'DECRYPT'],
      },
      { disabled: ['to-disable'] },
    );
  },
});

after(() => agent.destroy());

const apiPaths = () => ({
  health: `${node().prefix}/kms/xks/v1/health`,
  metadata: `${node().prefix}/kms/xks/v1/keys/${node().keyId}/metadata`,
  encrypt: `${node().prefix}/kms/xks/v1/keys/${node().keyId}/encrypt`,
  decrypt: `${node().prefix}/kms/xks/v1/keys/${node().keyId}/decrypt`,
});

/** A correctly signed (raw-path SigV4, KMS style) POST over HTTP/1.1. */
function signedPost(path: string, body: unknown, extra: Parameters<typeof signForNode>[3] = {}): Promise<RawResponse> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return sendHttps(node(), agent, { path, headers: signForNode(node(), path, text, extra), body: text });
}

function assertJsonContentType(response: RawResponse, what: string): void {
  const contentType = response.headers['content-type'];
  assert.equal(typeof contentType, 'string', `${what}: no Content-Type`);
  assert.match(contentType as string, /^application\/json(\s*;.*)?$/i, `${what}: Content-Type ${String(contentType)}`);
}

function assertXksError(response: RawResponse, status: number, errorName: string, what = ''): void {
  expectError(response, status, errorName, what);
  assertJsonContentType(response, what);
}

/** Opens a TLS connection and resolves with the socket once the handshake completes, or rejects. */
function handshake(options: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: node().port, servername: 'localhost', ca: node().ca, ...options });
    const timer = setTimeout(() => socket.destroy(new Error('handshake timed out')), 5_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

async function handshakeError(options: ConnectionOptions): Promise<NodeJS.ErrnoException> {
  try {
    const socket = await handshake(options);
    socket.destroy();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  assert.fail(`handshake unexpectedly succeeded with ${JSON.stringify(options)}`);
}

describe('HTTP versions (docs/requirements.md#transport items 2, 5)', () => {
  it('2/5: the server offers h2 and http/1.1 through ALPN and serves a client that offers only http/1.1', async () => {
    // The server prefers h2 (docs/requirements.md#transport) whatever the client's order, and falls back to http/1.1.
    for (const [offered, expected] of [
      [['h2', 'http/1.1'], 'h2'],
      [['http/1.1', 'h2'], 'h2'],
      [['http/1.1'], 'http/1.1'],
      [['h2'], 'h2'],
    ] as const) {
      const socket = await handshake({ ALPNProtocols: [...offered] });
      try {
        assert.equal(socket.alpnProtocol, expected, `client offered ${offered.join(',')}`);
      } finally {
        socket.destroy();
      }
    }
    // A client without ALPN gets a TLS connection too (and speaks HTTP/1.1 on it).
    const plain = await handshake({});
    try {
      assert.equal(plain.alpnProtocol, false);
    } finally {
      plain.destroy();
    }
  });

  it('2/5: an HTTP/1.1 client (ALPN http/1.1) gets signed health and Encrypt/Decrypt answers', async () => {
    const http11 = keepAliveAgent(node(), 1, ['http/1.1']);
    try {
      const send = (path: string, body: unknown) => {
        const text = JSON.stringify(body);
        return sendHttps(node(), http11, { path, headers: signForNode(node(), path, text), body: text });
      };
      const health = await send(apiPaths().health, healthBody());
      assert.ok(Array.isArray(okBody(health, 'health').ekmFleetDetails));
      assert.equal(health.alpn, 'http/1.1');
      const plaintext = randomBytes(100);
      const encrypted = await send(apiPaths().encrypt, encryptBody(plaintext));
      assert.equal(encrypted.alpn, 'http/1.1');
      const decrypted = await send(apiPaths().decrypt, decryptBody(okBody(encrypted, 'encrypt')));
      assert.deepEqual(Buffer.from(okBody(decrypted, 'decrypt').plaintext, 'base64'), plaintext);
    } finally {
      http11.destroy();
    }
  });

  it('2/5: an HTTP/2 client gets signed health and Encrypt/Decrypt answers; the SigV4 host is :authority', async () => {
    const session = h2Session(node());
    try {
      // Signed with host `localhost:PORT` (smithy, KMS style); only :authority carries it on the wire.
      const send = async (path: string, body: unknown, signHost = node().host) => {
        const text = JSON.stringify(body);
        const headers = await signKmsStyle({
          host: signHost,
          path,
          body: text,
          accessKeyId: node().credential.accessKeyId,
          secret: node().credential.secret,
          region: node().region,
        });
        delete headers.host;
        return sendH2(session, { path, headers, body: text, authority: node().host });
      };
      const health = await send(apiPaths().health, healthBody());
      assertJsonContentType(health, 'h2 health');
      assert.equal(typeof okBody(health, 'health').xksProxyFleetSize, 'number');

      const plaintext = randomBytes(4300);
      const aad = randomBytes(64);
      const extra = { additionalAuthenticatedData: aad.toString('base64') };
      const encrypted = okBody(await send(apiPaths().encrypt, encryptBody(plaintext, extra)), 'encrypt');
      assert.equal(Buffer.from(encrypted.ciphertext, 'base64').length, 4300);
      const decrypted = okBody(await send(apiPaths().decrypt, decryptBody(encrypted, extra)), 'decrypt');
      assert.deepEqual(Buffer.from(decrypted.plaintext, 'base64'), plaintext);

      // A signature over another host fails: the verifier really uses :authority.
      const wrongHost = await send(apiPaths().encrypt, encryptBody(plaintext), 'localhost:1');
      assertXksError(wrongHost, 401, 'AuthenticationFailedException', 'h2 signed for another host');
    } finally {
      session.close();
    }
  });
});

describe('TLS (docs/requirements.md#transport items 3, 4, 10)', () => {
  it('3: TLS 1.0 and TLS 1.1 are refused by the server (protocol_version alert)', async () => {
    // SECLEVEL=0 so that OpenSSL 3 on the client side is willing to offer them; the failure is the server's.
    for (const maxVersion of ['TLSv1', 'TLSv1.1'] as const) {
      const error = await handshakeError({ minVersion: 'TLSv1', maxVersion, ciphers: 'DEFAULT@SECLEVEL=0' });
      assert.equal(error.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', `${maxVersion}: ${error.message}`);
    }
  });

  it('3: TLS 1.2 and TLS 1.3 are accepted', async () => {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const socket = await handshake({ minVersion: version, maxVersion: version });
      try {
        assert.equal(socket.getProtocol(), version);
        assert.equal(socket.authorized, true);
      } finally {
        socket.destroy();
      }
    }
  });

  it('4: TLS 1.2 with only ECDHE-ECDSA-AES256-GCM-SHA384 offered negotiates it (the certificate is ECDSA P-256)', async () => {
    const socket = await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
    try {
      const cipher = socket.getCipher();
      assert.equal(cipher.name, 'ECDHE-ECDSA-AES256-GCM-SHA384');
      assert.equal(cipher.standardName, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384');
      assert.equal(socket.getProtocol(), 'TLSv1.2');
      const certificate = socket.getPeerCertificate() as { nistCurve?: string; asn1Curve?: string };
      assert.equal(certificate.nistCurve, 'P-256');
    } finally {
      socket.destroy();
    }
  });

  it('4: a TLS 1.2 client offering only AES128-SHA (no ECDHE, no GCM) fails the handshake', async () => {
    const error = await handshakeError({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' });
    assert.equal(error.code, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', error.message);
  });

  it('4: TLS 1.3 negotiates TLS_AES_256_GCM_SHA384 (and TLS_CHACHA20_POLY1305_SHA256) when the client offers only it', async () => {
    for (const suite of ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
      const socket = await handshake({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: suite });
      try {
        assert.equal(socket.getCipher().standardName, suite);
        assert.equal(socket.getProtocol(), 'TLSv1.3');
      } finally {
        socket.destroy();
      }
    }
  });

  it('4: with default client settings the negotiated suite is one of the four the spec names', async () => {
    const allowed = [
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
    ];
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const socket = await handshake({ maxVersion });
      try {
        assert.ok(allowed.includes(socket.getCipher().standardName), `${maxVersion}: ${socket.getCipher().standardName}`);
      } finally {
        socket.destroy();
      }
    }
  });

  it('10: the certificate verifies for hostname localhost against tls/cert.pem and fails for example.com', async () => {
    const ca = readFileSync(join(node().dataDir, 'tls', 'cert.pem'));
    const socket = await handshake({ ca, servername: 'localhost', rejectUnauthorized: true });
    try {
      assert.equal(socket.authorized, true, String(socket.authorizationError));
      const certificate = socket.getPeerCertificate();
      assert.equal(checkServerIdentity('localhost', certificate), undefined);
      const mismatch = checkServerIdentity('example.com', certificate);
      assert.ok(mismatch instanceof Error);
      assert.equal((mismatch as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      socket.destroy();
    }
    const wrongName = await handshakeError({ ca, servername: 'example.com', rejectUnauthorized: true });
    assert.equal(wrongName.code, 'ERR_TLS_CERT_ALTNAME_INVALID', wrongName.message);
    // Without the CA the chain does not verify: standard server authentication is in force.
    const untrusted = await handshakeError({ ca: undefined, servername: 'localhost', rejectUnauthorized: true });
    assert.match(String(untrusted.code), /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/, untrusted.message);
  });

  it('9: there is no plaintext HTTP listener: a plain http:// request gets no HTTP answer', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const request = httpRequest(
        { host: '127.0.0.1', port: node().port, path: apiPaths().health, method: 'POST', headers: { 'content-type': 'application/json' } },
        (response) => {
          response.resume();
          resolve(`status ${response.statusCode}`);
        },
      );
      request.setTimeout(5_000, () => request.destroy(new Error('timeout')));
      request.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
      request.end(JSON.stringify(healthBody()));
    });
    assert.match(outcome, /^error /, outcome);
    assert.doesNotMatch(outcome, /status 200/);
  });
});

describe('Methods and routing (docs/requirements.md#transport item 8, #errors item 75, #key-ids item 17)', () => {
  const methods = ['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

  it('8: GET, PUT, DELETE, PATCH, HEAD (and OPTIONS) on each of the four API URIs → 405 with Allow: POST (HTTP/1.1)', async () => {
    for (const path of Object.values(apiPaths())) {
      for (const method of methods) {
        const body = method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(healthBody());
        const response = await sendHttps(node(), agent, { method, path, headers: { 'content-type': 'application/json' }, body });
        assert.equal(response.status, 405, `${method} ${path}: ${response.text}`);
        assert.equal(response.headers.allow, 'POST', `${method} ${path}`);
        assertJsonContentType(response, `${method} ${path}`);
        if (method !== 'HEAD') assert.equal(typeof response.json, 'object', `${method} ${path}: ${response.text}`);
        else assert.equal(response.text, '');
      }
    }
  });

  it('8: a correctly signed GET is still 405 (the method is checked before authentication)', async () => {
    for (const path of Object.values(apiPaths())) {
      const response = await sendHttps(node(), agent, { method: 'GET', path, headers: signForNode(node(), path, '', { method: 'GET' }) });
      assert.equal(response.status, 405, `${path}: ${response.text}`);
      assert.equal(response.headers.allow, 'POST');
    }
  });

  it('8: the same over HTTP/2, including an unregistered method token', async () => {
    const session = h2Session(node());
    try {
      for (const path of Object.values(apiPaths())) {
        for (const method of [...methods, 'FOO']) {
          const response = await sendH2(session, { method, path, headers: { 'content-type': 'application/json' } });
          assert.equal(response.status, 405, `h2 ${method} ${path}: ${response.text}`);
          assert.equal(response.headers.allow, 'POST');
          assertJsonContentType(response, `h2 ${method} ${path}`);
        }
      }
    } finally {
      session.close();
    }
  });

  it('8/75: GET on an unknown path → 404 InvalidUriPathException', async () => {
    for (const path of [
      '/',
      '/unknown',
      `${node().prefix}`,
      `${node().prefix}/kms/xks/v1`,
      `${node().prefix}/kms/xks/v1/keys`,
      `${node().prefix}/kms/xks/v1/nothing`,
      '/kms/xks/v1/health',
    ]) {
      const response = await sendHttps(node(), agent, { method: 'GET', path });
      assertXksError(response, 404, 'InvalidUriPathException', `GET ${path}`);
    }
  });

  it('75: an unknown prefix with a CORRECT signature for that path → 404 InvalidUriPathException (before authentication)', async () => {
    for (const prefix of ['/other', '/demo2', '/Demo', '/demo/demo', '/example/uri/path/prefix']) {
      const path = `${prefix}/kms/xks/v1/health`;
      const raw = await signedPost(path, healthBody());
      assertXksError(raw, 404, 'InvalidUriPathException', path);
      // The same with the KMS-style smithy signer.
      expectError(await xks(node(), { path, body: healthBody() }), 404, 'InvalidUriPathException', `${path} (smithy)`);
      const encryptPath = `${prefix}/kms/xks/v1/keys/${node().keyId}/encrypt`;
      assertXksError(await signedPost(encryptPath, encryptBody(randomBytes(8))), 404, 'InvalidUriPathException', encryptPath);
    }
    // Unsigned also 404, not 401: the route is checked first.
    const unsigned = await sendHttps(node(), agent, {
      path: '/other/kms/xks/v1/health',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assertXksError(unsigned, 404, 'InvalidUriPathException', 'unsigned unknown prefix');
  });

  it('75: non-canonical paths (//, /./, /../, %2F, ?query, trailing slash, v2, 129-char key id) → 404 InvalidUriPathException even when correctly signed', async () => {
    const p = node().prefix;
    const k = node().keyId;
    const paths = [
      `${p}//kms/xks/v1/health`,
      `/${p}/kms/xks/v1/health`,
      `${p}/kms//xks/v1/health`,
      `${p}/kms/xks/v1//health`,
      `${p}/kms/xks/v1/keys//${k}/encrypt`,
      `${p}/kms/xks/v1/keys/${k}//encrypt`,
      `${p}/./kms/xks/v1/health`,
      `${p}/kms/xks/v1/./health`,
      `${p}/kms/xks/v1/keys/${k}/./encrypt`,
      `${p}/x/../kms/xks/v1/health`,
      `${p}/kms/xks/v1/../v1/health`,
      `${p}/kms/xks/v1/keys/${k}/../../health`,
      `${p}/kms/xks/v1/keys/${k}/../${k}/encrypt`,
      `/other/../${p}/kms/xks/v1/health`,
      `${p}%2Fkms/xks/v1/health`,
      `${p}/kms%2Fxks%2Fv1/health`,
      `${p}/kms/xks/v1/keys/${k}%2Fencrypt`,
      `${p}/kms/xks/v1/keys/demo%2Dkey/encrypt`,
      `${p}/kms/xks/v1/%68ealth`,
      `${p}/kms/xks/v1/health?a=b`,
      `${p}/kms/xks/v1/health?`,
      `${p}/kms/xks/v1/keys/${k}/encrypt?a=b`,
      `${p}/kms/xks/v1/health/`,
      `${p}/kms/xks/v1/keys/${k}/encrypt/`,
      `${p}/kms/xks/v1/keys/${k}/`,
      `${p}/kms/xks/v1/keys//encrypt`,
      `${p}/kms/xks/v2/health`,
      `${p}/kms/xks/v2/keys/${k}/encrypt`,
      `${p}/kms/xks/V1/health`,
      `${p}/KMS/xks/v1/health`,
      `${p}/kms/xks/v1/Health`,
      `${p}/kms/xks/v1/keys/${k}/Encrypt`,
      `${p}/kms/xks/v1/keys/${k}/sign`,
      `${p}/kms/xks/v1/keys/${'a'.repeat(129)}/metadata`,
      `${p}/kms/xks/v1/keys/${'a.b_c-'.repeat(21)}xyz/encrypt`, // 129 characters
      `${p}/kms/xks/v1/keys/a b/encrypt`.replace(' ', '%20'),
      `${p}/kms/xks/v1/keys/a+b/encrypt`,
      `${p}/kms/xks/v1/keys/a~b/encrypt`,
      `${p}/kms/xks/v1/keys/a:b/encrypt`,
      `${p}/kms/xks/v1/keys/${k}/encrypt#frag`,
      `${p}/kms/xks/v1/${'a/'.repeat(300)}health`, // longer than any valid URI
    ];
    assert.equal(`${'a.b_c-'.repeat(21)}xyz`.length, 129);
    for (const path of paths) {
      const body = path.includes('/keys/') ? encryptBody(randomBytes(8)) : healthBody();
      assertXksError(await signedPost(path, body), 404, 'InvalidUriPathException', path);
    }
  });

  it('75/17: key ids made only of dots are routed raw, never normalized to another resource: 404', async () => {
    // `..` and `.` match the key id grammar but cannot be created (the admin API refuses them), so the
    // request lands on "no such key" after authentication; it must never reach another key or route.
    for (const id of ['.', '..', '...']) {
      const path = `${node().prefix}/kms/xks/v1/keys/${id}/encrypt`;
      const response = await signedPost(path, encryptBody(randomBytes(8)));
      assert.equal(response.status, 404, `${path}: ${response.text}`);
      assert.ok(['InvalidUriPathException', 'KeyNotFoundException'].includes(errorOf(response)?.errorName ?? ''), response.text);
    }
  });

  it('17: a 128-character key id with -, . and _ is routed: 404 KeyNotFoundException when absent, 200 when present', async () => {
    const absent = `${'a.b_c-'.repeat(21)}xy`;
    assert.equal(absent.length, 128);
    for (const operation of ['metadata', 'encrypt', 'decrypt'] as const) {
      const path = `${node().prefix}/kms/xks/v1/keys/${absent}/${operation}`;
      const body =
        operation === 'metadata'
          ? { requestMetadata: metadata('CreateKey') }
          : operation === 'encrypt'
            ? encryptBody(randomBytes(8))
            : decryptBody({
                ciphertext: 'AAAA',
                ciphertextMetadata: 'AQAAAAE=',
                initializationVector: randomBytes(12).toString('base64'),
                authenticationTag: randomBytes(16).toString('base64'),
              });
      assertXksError(await signedPost(path, body), 404, 'KeyNotFoundException', path);
    }
    const present = `k-${'a.b_c-'.repeat(20)}${'x'.repeat(6)}`;
    assert.equal(present.length, 128);
    const base = `${node().prefix}/kms/xks/v1/keys/${present}`;
    const plaintext = randomBytes(33);
    const encrypted = okBody(await signedPost(`${base}/encrypt`, encryptBody(plaintext)), 'encrypt');
    const decrypted = okBody(await signedPost(`${base}/decrypt`, decryptBody(encrypted)), 'decrypt');
    assert.deepEqual(Buffer.from(decrypted.plaintext, 'base64'), plaintext);
    const described = okBody(await signedPost(`${base}/metadata`, { requestMetadata: metadata('CreateKey') }), 'metadata');
    assert.equal(described.keySpec, 'AES_256');
  });
});

describe('Response format (docs/requirements.md#transport item 1, #errors items 72–74)', () => {
  it('1: every response — success and each error the node produces — is application/json with a JSON body', async () => {
    const p = apiPaths();
    const plaintext = randomBytes(20);
    const encrypted = okBody(await signedPost(p.encrypt, encryptBody(plaintext)), 'encrypt');
    const tampered = { ...encrypted, authenticationTag: Buffer.alloc(16).toString('base64') };
    const keyPath = (id: string, op: string) => `${node().prefix}/kms/xks/v1/keys/${id}/${op}`;

    const cases: [string, () => Promise<RawResponse>, number, string | undefined][] = [
      ['health', () => signedPost(p.health, healthBody()), 200, undefined],
      ['metadata', () => signedPost(p.metadata, { requestMetadata: metadata('CreateKey') }), 200, undefined],
      ['encrypt', () => signedPost(p.encrypt, encryptBody(plaintext)), 200, undefined],
      ['decrypt', () => signedPost(p.decrypt, decryptBody(encrypted)), 200, undefined],
      ['validation', () => signedPost(p.encrypt, { requestMetadata: metadata('Encrypt') }), 400, 'ValidationException'],
      ['not JSON', () => signedPost(p.health, 'not json'), 400, 'ValidationException'],
      ['bad tag', () => signedPost(p.decrypt, decryptBody(tampered)), 400, 'InvalidCiphertextException'],
      ['key usage', () => signedPost(keyPath('encrypt-only', 'decrypt'), decryptBody(encrypted)), 400, 'InvalidKeyUsageException'],
      ['disabled key', () => signedPost(keyPath('to-disable', 'encrypt'), encryptBody(plaintext)), 400, 'InvalidStateException'],
      [
        'unsigned',
        () =>
          sendHttps(node(), agent, { path: p.health, headers: { 'content-type': 'application/json' }, body: JSON.stringify(healthBody()) }),
        401,
        'AuthenticationFailedException',
      ],
      ['wrong secret', () => signedPost(p.health, healthBody(), { secret: 'x'.repeat(44) }), 401, 'AuthenticationFailedException'],
      ['unknown key', () => signedPost(keyPath('no-such-key', 'encrypt'), encryptBody(plaintext)), 404, 'KeyNotFoundException'],
      ['unknown path', () => signedPost('/nowhere', healthBody()), 404, 'InvalidUriPathException'],
      ['GET', () => sendHttps(node(), agent, { method: 'GET', path: p.health }), 405, undefined],
      ['plaintext over limit', () => signedPost(p.encrypt, encryptBody(randomBytes(8193))), 501, 'UnsupportedOperationException'],
      [
        'body over limit',
        () =>
          sendHttps(node(), agent, { path: p.encrypt, headers: { 'content-type': 'application/json' }, body: Buffer.alloc(70_000, 0x20) }),
        501,
        'UnsupportedOperationException',
      ],
    ];
    for (const [what, send, status, errorName] of cases) {
      const response = await send();
      assert.equal(response.status, status, `${what}: ${response.text}`);
      assertJsonContentType(response, what);
      assert.ok(
        response.json !== null && typeof response.json === 'object' && !Array.isArray(response.json),
        `${what}: body ${response.text}`,
      );
      if (errorName) {
        const error = expectError(response, status, errorName, what);
        assert.deepEqual(
          jsonKeys(response).filter((name) => name !== 'errorName' && name !== 'errorMessage'),
          [],
          `${what}: ${response.text}`,
        );
        if (error.errorMessage !== undefined) assert.match(error.errorMessage, /^[\x20-\x7e]{0,511}$/, what);
      }
    }
  });
});

describe('Load-balancer ping (docs/requirements.md#authorization-logging-operations item 101)', () => {
  it('101: GET /ping → 200 text without authentication, over HTTP/1.1 and HTTP/2', async () => {
    const response = await sendHttps(node(), agent, { method: 'GET', path: '/ping' });
    assert.equal(response.status, 200, response.text);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    assert.match(response.text, /pong/);
    const session = h2Session(node());
    try {
      const h2 = await sendH2(session, { method: 'GET', path: '/ping' });
      assert.equal(h2.status, 200);
      assert.match(h2.text, /pong/);
    } finally {
      session.close();
    }
  });

  it('101: /ping is not an API URI and no API URI answers like a ping', async () => {
    for (const path of [
      `${node().prefix}/ping`,
      `${node().prefix}/kms/xks/v1/ping`,
      `${node().prefix}/kms/xks/v1/keys/${node().keyId}/ping`,
    ]) {
      assertXksError(await sendHttps(node(), agent, { method: 'GET', path }), 404, 'InvalidUriPathException', `GET ${path}`);
      assertXksError(await signedPost(path, healthBody()), 404, 'InvalidUriPathException', `POST ${path}`);
    }
    const health = await sendHttps(node(), agent, { method: 'GET', path: apiPaths().health });
    assert.equal(health.status, 405);
  });
});

describe('Connection reuse', () => {
  it('keep-alive: sequential HTTP/1.1 requests, including early 401/404/405 answers with unread bodies, share one TLS connection', async () => {
    let connections = 0;
    const onConnection = () => {
      connections += 1;
    };
    node().node.server.on('secureConnection', onConnection);
    const single = keepAliveAgent(node(), 1, ['http/1.1']);
    try {
      const p = apiPaths();
      const send = (request: Parameters<typeof sendHttps>[2]) => sendHttps(node(), single, request);
      const signed = (path: string, body: unknown) => {
        const text = JSON.stringify(body);
        return send({ path, headers: signForNode(node(), path, text), body: text });
      };
      const bigBody = JSON.stringify(encryptBody(randomBytes(4000)));
      const results: RawResponse[] = [];
      results.push(await signed(p.health, healthBody()));
      results.push(await send({ path: '/nowhere', headers: { 'content-type': 'application/json' }, body: bigBody })); // 404, body unread
      results.push(await send({ method: 'PUT', path: p.encrypt, headers: { 'content-type': 'application/json' }, body: bigBody })); // 405, body unread
      results.push(await send({ path: p.encrypt, headers: { 'content-type': 'application/json' }, body: bigBody })); // 401
      results.push(await signed(p.encrypt, encryptBody(randomBytes(16))));
      results.push(await signed(p.metadata, { requestMetadata: metadata('CreateKey') }));
      results.push(await signed(p.health, healthBody()));
      assert.deepEqual(
        results.map((r) => r.status),
        [200, 404, 405, 401, 200, 200, 200],
      );
      assert.deepEqual(
        results.map((r) => r.reusedSocket),
        [false, true, true, true, true, true, true],
      );
      assert.equal(connections, 1);
    } finally {
      single.destroy();
      node().node.server.off('secureConnection', onConnection);
    }
  });

  it('keep-alive: many HTTP/2 streams (sequential and concurrent) share one session', async () => {
    let connections = 0;
    const onConnection = () => {
      connections += 1;
    };
    node().node.server.on('secureConnection', onConnection);
    let session: ClientHttp2Session | undefined;
    try {
      session = h2Session(node());
      const path = apiPaths().health;
      const send = () => {
        const text = JSON.stringify(healthBody());
        return sendH2(session!, { path, headers: signForNode(node(), path, text), body: text });
      };
      for (let i = 0; i < 5; i++) assert.equal((await send()).status, 200);
      const concurrent = await Promise.all(Array.from({ length: 20 }, send));
      assert.ok(concurrent.every((r) => r.status === 200));
      assert.equal(connections, 1);
    } finally {
      session?.close();
      node().node.server.off('secureConnection', onConnection);
    }
  });
});

describe('Client disconnects', () => {
  it('99: a client that disconnects in the middle of a request body is not logged as a 500 InternalException', async () => {
    const before = node().logs.length;
    await new Promise<void>((resolve) => {
      const socket = tlsConnect(
        { host: '127.0.0.1', port: node().port, servername: 'localhost', ca: node().ca, ALPNProtocols: ['http/1.1'] },
        () => {
          socket.write(
            `POST ${apiPaths().health} HTTP/1.1\r\nHost: ${node().host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"requestMet`,
          );
          setTimeout(() => socket.destroy(), 50);
        },
      );
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
    });
    for (let i = 0; i < 20 && node().logs.length === before; i++) await new Promise((r) => setTimeout(r, 25));
    const lines = node()
      .logs.slice(before)
      .filter((line) => line.event === 'xks.request');
    assert.ok(
      lines.every((line) => line.errorName !== 'InternalException' && line.status !== 500),
      JSON.stringify(lines),
    );
    assert.ok(
      lines.some((line) => line.outcome === 'aborted'),
      JSON.stringify(lines),
    );
  });
});
