/**
 * A real `curl --aws-sigv4` (curl 7.88.1, as used by the official curl-based XKS test client) against a
 * real node: docs/kms-client.md#sigv4-verification, #curl. curl signs `content-type;host;x-amz-date`
 * when given `-H Content-Type:application/json`, and speaks HTTP/2 by default.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { expectError, okBody } from '../helpers/xks-answers.js';
import { decryptBody, encryptBody, healthBody, metadata, xksPath, type XksApi } from '../helpers/xks-client.js';
import { useTestNode } from '../helpers/xks-suite.js';

const execFileAsync = promisify(execFile);
const CURL = '/usr/bin/curl';

const node = useTestNode();

interface CurlResult {
  status: number;
  httpVersion: string;
  /** The response body. */
  text: string;
  json: unknown;
  stderr: string;
}

interface CurlOptions {
  /** Path after `https://localhost:PORT`; default from `operation`. */
  path?: string;
  operation?: XksApi;
  keyId?: string;
  body: unknown;
  http1?: boolean;
  /** Default true: `-H Content-Type:application/json`, exactly as the official test client sends it. */
  contentType?: boolean;
  region?: string;
  service?: string;
  accessKeyId?: string;
  secret?: string;
  verbose?: boolean;
}

/** Runs curl once (bounded by --max-time and an execFile timeout that kills it) and parses `-w` output. */
async function curl(options: CurlOptions): Promise<CurlResult> {
  const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const path = options.path ?? xksPath(node(), options.operation ?? 'health', options.keyId);
  const args = [
    '-s',
    '--max-time',
    '10',
    '--cacert',
    join(node().dataDir, 'tls', 'cert.pem'),
    // The node listens on 127.0.0.1 only; keep curl from trying ::1 first.
    '--resolve',
    `localhost:${node().port}:127.0.0.1`,
    ...(options.http1 ? ['--http1.1'] : []),
    ...(options.contentType === false ? [] : ['-H', 'Content-Type:application/json']),
    '--aws-sigv4',
    `aws:amz:${options.region ?? node().region}:${options.service ?? 'kms-xks-proxy'}`,
    '--user',
    `${options.accessKeyId ?? node().credential.accessKeyId}:${options.secret ?? node().credential.secret}`,
    '--data-binary',
    body,
    '-w',
    '\\n%{http_code} %{http_version}',
    ...(options.verbose ? ['-v'] : []),
    `https://localhost:${node().port}${path}`,
  ];
  const { stdout, stderr } = await execFileAsync(CURL, args, { timeout: 15_000, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 });
  const newline = stdout.lastIndexOf('\n');
  const [code, httpVersion] = stdout.slice(newline + 1).split(' ');
  const text = stdout.slice(0, newline);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: Number(code), httpVersion: httpVersion ?? '', text, json, stderr };
}

function assertError(result: CurlResult, status: number, errorName: string, what: string): void {
  expectError(result, status, errorName, what);
}

const b64 = (s: string) => Buffer.from(s, 'base64');

describe('curl --aws-sigv4, as the official test client uses it (docs/kms-client.md#sigv4-verification, #curl)', () => {
  it('curl --version is the expected 7.88.x with AWS SigV4 and HTTP/2 support', async () => {
    const { stdout } = await execFileAsync(CURL, ['--version'], { timeout: 5_000 });
    assert.match(stdout, /^curl 7\.88\./);
    assert.match(stdout, /HTTP2/);
  });

  it('2/5/79: health over HTTP/2 (default) and --http1.1, signing content-type;host;x-amz-date', async () => {
    const h2 = await curl({ operation: 'health', body: healthBody(), verbose: true });
    assert.equal(h2.status, 200, h2.text);
    assert.equal(h2.httpVersion, '2');
    assert.match(h2.text, /"healthStatus":/); // the test client's substring check on compact JSON
    assert.match(h2.stderr, /SignedHeaders=content-type;host;x-amz-date,/);
    const h1 = await curl({ operation: 'health', body: healthBody(), http1: true, verbose: true });
    assert.equal(h1.status, 200, h1.text);
    assert.equal(h1.httpVersion, '1.1');
    assert.match(h1.stderr, /SignedHeaders=content-type;host;x-amz-date,/);
    assert.match(h1.stderr, new RegExp(`Host: localhost:${node().port}`));
  });

  it('6/25/26/27: GetKeyMetadata with legacy DescribeKey (+kmsKeyArn, kmsViaService) and with CreateKey → 200', async () => {
    for (const kmsOperation of ['DescribeKey', 'CreateKey']) {
      for (const http1 of [false, true]) {
        const body = { requestMetadata: metadata(kmsOperation, { kmsViaService: 'ebs' }) };
        assert.ok(body.requestMetadata.kmsKeyArn);
        const result = okBody(await curl({ operation: 'metadata', body, http1 }), 'metadata');
        assert.equal(result.keySpec, 'AES_256', kmsOperation);
        assert.deepEqual([...result.keyUsage].sort(), ['DECRYPT', 'ENCRYPT']);
        assert.equal(result.keyStatus, 'ENABLED');
      }
    }
  });

  it('32/36/38/49: Encrypt then Decrypt with 8 KiB AAD and 4 KiB plaintext, CDIV requested and recomputed', async () => {
    for (const http1 of [false, true]) {
      const plaintext = randomBytes(4096);
      const aad = randomBytes(8192);
      const aadField = { additionalAuthenticatedData: aad.toString('base64') };
      const encrypted = await curl({
        operation: 'encrypt',
        body: encryptBody(plaintext, { ...aadField, ciphertextDataIntegrityValueAlgorithm: 'SHA_256' }),
        http1,
      });
      assert.equal(encrypted.httpVersion, http1 ? '1.1' : '2');
      const r = okBody(encrypted, 'encrypt');
      assert.equal(b64(r.ciphertext).length, 4096);
      assert.equal(b64(r.authenticationTag).length, 16);
      assert.ok([12, 16].includes(b64(r.initializationVector).length));
      const cdiv = createHash('sha256')
        .update(Buffer.concat([aad, b64(r.ciphertextMetadata), b64(r.initializationVector), b64(r.ciphertext), b64(r.authenticationTag)]))
        .digest('base64');
      assert.equal(r.ciphertextDataIntegrityValue, cdiv);

      const decrypted = okBody(await curl({ operation: 'decrypt', body: decryptBody(r, aadField), http1 }), 'decrypt');
      assert.deepEqual(b64(decrypted.plaintext), plaintext);

      // The test client's negative checks: missing or different AAD → InvalidCiphertextException.
      assertError(await curl({ operation: 'decrypt', body: decryptBody(r), http1 }), 400, 'InvalidCiphertextException', 'missing AAD');
      const otherAad = { additionalAuthenticatedData: randomBytes(8192).toString('base64') };
      assertError(
        await curl({ operation: 'decrypt', body: decryptBody(r, otherAad), http1 }),
        400,
        'InvalidCiphertextException',
        'other AAD',
      );
    }
  });

  it('79/80/82: service kms-xks, a wrong secret, a wrong access key id or region us-west-2 → 401 AuthenticationFailedException', async () => {
    const cases: [string, Partial<CurlOptions>][] = [
      ['service kms-xks', { service: 'kms-xks' }],
      ['wrong secret', { secret: `${node().credential.secret.slice(0, -2)}AA` }],
      ['wrong access key id', { accessKeyId: 'BETWEEN2TENAND3TENCHARACTERS' }],
      ['region us-west-2', { region: 'us-west-2' }],
    ];
    for (const [what, extra] of cases) {
      for (const http1 of [false, true]) {
        assertError(await curl({ operation: 'health', body: healthBody(), http1, ...extra }), 401, 'AuthenticationFailedException', what);
        assertError(
          await curl({ operation: 'encrypt', body: encryptBody(randomBytes(8)), http1, ...extra }),
          401,
          'AuthenticationFailedException',
          `${what} (encrypt)`,
        );
      }
    }
  });

  it('75: a wrong prefix → 404 InvalidUriPathException (correctly signed by curl for that URL)', async () => {
    for (const path of [
      '/invalid/kms/xks/v1/health',
      `${node().prefix}/invalid/kms/xks/v1/health`,
      `${node().prefix}/kms/xks/v1/invalid`,
    ]) {
      for (const http1 of [false, true]) {
        assertError(await curl({ path, body: healthBody(), http1 }), 404, 'InvalidUriPathException', path);
      }
    }
  });

  it("the test client's validation expectations (docs/requirements.md#readings items 8, 10): {} and empty requestMetadata → 400 ValidationException", async () => {
    for (const operation of ['health', 'metadata', 'encrypt'] as const) {
      for (const body of ['{}', '{"requestMetadata":{}}']) {
        assertError(await curl({ operation, body }), 400, 'ValidationException', `${operation} ${body}`);
      }
    }
  });

  it('missing plaintext → 400 ValidationException; unknown key → 404 KeyNotFoundException', async () => {
    const { plaintext: _omit, ...noPlaintext } = encryptBody(randomBytes(8));
    assertError(await curl({ operation: 'encrypt', body: noPlaintext }), 400, 'ValidationException', 'missing plaintext');
    assertError(
      await curl({ operation: 'encrypt', keyId: 'no-such-key', body: encryptBody(randomBytes(8)) }),
      404,
      'KeyNotFoundException',
      'unknown key encrypt',
    );
    assertError(
      await curl({ operation: 'metadata', keyId: 'no-such-key', body: { requestMetadata: metadata('DescribeKey') } }),
      404,
      'KeyNotFoundException',
      'unknown key metadata',
    );
  });

  it('without -H Content-Type curl signs host;x-amz-date and sends form encoding: authenticated, then 400 ValidationException', async () => {
    const result = await curl({ operation: 'health', body: healthBody(), contentType: false, verbose: true });
    assert.match(result.stderr, /SignedHeaders=host;x-amz-date,/);
    assertError(result, 400, 'ValidationException', 'form-encoded content type');
  });
});
