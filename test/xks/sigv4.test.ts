import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { createSigV4Verifier, type AuthFailureReason, type SignedRequest, type VerifyResult } from '../../src/xks/sigv4.js';
import { amzDate, signKmsStyle, signWithAws4, type SignOptions } from '../helpers/signers.js';

// Fixed vector of docs/requirements.md#sigv4-vector.
const SPEC = {
  host: 'xks.example.com',
  path: '/example/prefix/kms/xks/v1/health',
  region: 'us-east-1',
  amzDate: '20240515T120000Z',
  time: Date.UTC(2024, 4, 15, 12, 0, 0),
  accessKeyId: 'AKIAI2SFODNN7EXAMPLE',
  secret: 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE',
  body: '{"requestMetadata":{"kmsRequestId":"4112f4d6-db54-4af4-ae30-c55a22a8dfae","kmsOperation":"KmsHealthCheck"}}',
  kmsSignature: 'b6c1afb14bd3f425671541907f9fa0f7859326c1ad24225d73cec9d7df8aa011',
  curlSignature: 'ea5095ff42211142235fef0b7437e64552ace2b8aae30d4f8bf0fedaa31338fa',
};

// Fixed vector of docs/kms-client.md#sigv4-vectors.
const KMS = {
  host: 'xks.example.com',
  path: '/p/kms/xks/v1/health',
  region: 'us-east-1',
  amzDate: '20240102T030405Z',
  time: Date.UTC(2024, 0, 2, 3, 4, 5),
  accessKeyId: 'BETWEEN2TENAND3TENCHARACTERS',
  secret: 'PleaseReplaceThisWithSomeSecretOfLength43To64',
  body: '{"requestMetadata":{"kmsOperation":"KmsHealthCheck","kmsRequestId":"x"}}',
  kmsSignature: '95d2a7451fbe11d91e01698add7f8ae77f06d7862dd020825c98966a524565b3',
  curlSignature: '5e9a2a5883908720ae5a01414ca053c1b0ce07274d9f52b8e472c0442fa619cf',
};

type Vector = typeof SPEC;

// A second keystore's credential, for the wrong-prefix tests.
const OTHER = { accessKeyId: 'OTHERPREFIXKEY2345672345', secret: 'c2Vjb25kIGtleXN0b3JlIHNlY3JldCBvZiA0NCBjaGFycyE=' };

function vectorRequest(v: Vector, signedHeaders: string, signature: string): SignedRequest {
  const headers: Record<string, string> = {
    host: v.host,
    'x-amz-date': v.amzDate,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(v.body)),
    authorization: `AWS4-HMAC-SHA256 Credential=${v.accessKeyId}/${v.amzDate.slice(0, 8)}/${v.region}/kms-xks-proxy/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
  return { method: 'POST', path: v.path, headers, body: Buffer.from(v.body) };
}

function toRequest(headers: Record<string, string>, path: string, body: string | Uint8Array): SignedRequest {
  return { method: 'POST', path, headers: { ...headers }, body: Buffer.from(body) };
}

function lookupOf(...credentials: { accessKeyId: string; secret: string }[]): (id: string) => string | undefined {
  const map = new Map(credentials.map((c) => [c.accessKeyId, c.secret] as const));
  return (id) => map.get(id);
}

function verifierAt(time: number) {
  const clock = new ManualClock(time);
  return { clock, verifier: createSigV4Verifier({ clock }) };
}

function signatureOf(request: SignedRequest): string {
  const auth = request.headers.authorization as string;
  return auth.slice(auth.indexOf('Signature=') + 'Signature='.length);
}

/** Asserts a failure with this reason, and that nothing secret leaks into the result. */
function assertFails(result: VerifyResult, reason: AuthFailureReason, request?: SignedRequest): void {
  assert.equal(result.ok, false, `expected failure ${reason}`);
  assert.equal(result.reason, reason);
  const text = JSON.stringify(result);
  for (const secret of [SPEC.secret, KMS.secret, OTHER.secret]) assert.ok(!text.includes(secret));
  if (request?.headers.authorization !== undefined) {
    assert.ok(!text.includes(String(request.headers.authorization)));
    assert.ok(!text.toLowerCase().includes(signatureOf(request).toLowerCase()));
  }
}

function assertOk(result: VerifyResult, accessKeyId: string): void {
  assert.deepEqual(result, { ok: true, accessKeyId });
}

function editAuthorization(request: SignedRequest, from: string | RegExp, to: string): SignedRequest {
  const auth = String(request.headers.authorization);
  const edited = auth.replace(from, to);
  assert.notEqual(edited, auth, 'the edit must change the header');
  return { ...request, headers: { ...request.headers, authorization: edited } };
}

const kmsOptions = (v: Vector, overrides: Partial<SignOptions> = {}): SignOptions => ({
  host: v.host,
  path: v.path,
  body: v.body,
  accessKeyId: v.accessKeyId,
  secret: v.secret,
  region: v.region,
  date: v.time,
  ...overrides,
});

async function kmsSigned(v: Vector, overrides: Partial<SignOptions> = {}): Promise<SignedRequest> {
  const options = kmsOptions(v, overrides);
  return toRequest(await signKmsStyle(options), options.path!, options.body);
}

describe('SigV4 fixed vectors', () => {
  for (const [name, v] of [
    ['docs/requirements.md#sigv4-vector', SPEC],
    ['docs/kms-client.md#sigv4-vectors', KMS],
  ] as const) {
    test(`82: ${name} vector, SignedHeaders=host;x-amz-date (KMS style) verifies`, () => {
      const { verifier } = verifierAt(v.time);
      assertOk(verifier.verify(vectorRequest(v, 'host;x-amz-date', v.kmsSignature), v.region, lookupOf(v)), v.accessKeyId);
    });

    test(`82: ${name} vector, SignedHeaders=content-type;host;x-amz-date (curl style) verifies`, () => {
      const { verifier } = verifierAt(v.time);
      const request = vectorRequest(v, 'content-type;host;x-amz-date', v.curlSignature);
      assertOk(verifier.verify(request, v.region, lookupOf(v)), v.accessKeyId);
    });

    test(`82: ${name} vector: the test signers reproduce its signatures`, async () => {
      assert.equal(signatureOf(await kmsSigned(v)), v.kmsSignature);
      const aws4Headers = signWithAws4(kmsOptions(v));
      assert.match(aws4Headers.authorization!, /SignedHeaders=content-type;host;x-amz-date, /);
      assert.ok(aws4Headers.authorization!.endsWith(`Signature=${v.curlSignature}`));
      const plain = signWithAws4(kmsOptions(v, { signContentType: false }));
      assert.ok(plain.authorization!.endsWith(`Signature=${v.kmsSignature}`));
    });

    test(`79: ${name} vector with the curl signature but KMS SignedHeaders fails`, () => {
      const { verifier } = verifierAt(v.time);
      const request = vectorRequest(v, 'host;x-amz-date', v.curlSignature);
      assertFails(verifier.verify(request, v.region, lookupOf(v)), 'signature-mismatch', request);
    });
  }
});

describe('SigV4 independent signers', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  test('79: @smithy/signature-v4 (KMS style, host;x-amz-date) verifies', async () => {
    const { verifier } = verifierAt(now);
    const request = await kmsSigned(KMS, { date: now });
    assert.match(String(request.headers.authorization), /SignedHeaders=host;x-amz-date, /);
    assert.equal(request.headers['content-type'], 'application/json');
    assertOk(verifier.verify(request, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
  });

  test('79: aws4 curl-like (content-type;host;x-amz-date) verifies', () => {
    const { verifier } = verifierAt(now);
    const request = toRequest(signWithAws4(kmsOptions(KMS, { date: now })), KMS.path, KMS.body);
    assert.match(String(request.headers.authorization), /SignedHeaders=content-type;host;x-amz-date, /);
    assertOk(verifier.verify(request, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
  });

  test('79: aws4 plain (host;x-amz-date, Content-Type sent but unsigned) verifies', () => {
    const { verifier } = verifierAt(now);
    const headers = signWithAws4(kmsOptions(KMS, { date: now, signContentType: false }));
    assert.match(headers.authorization!, /SignedHeaders=host;x-amz-date, /);
    assertOk(verifier.verify(toRequest(headers, KMS.path, KMS.body), KMS.region, lookupOf(KMS)), KMS.accessKeyId);
  });

  test('79: a URL with a port signs Host with the port, and verifies', async () => {
    const { verifier } = verifierAt(now);
    const url = 'https://127.0.0.1:18443/p/kms/xks/v1/health';
    for (const headers of [
      await signKmsStyle({ ...kmsOptions(KMS, { date: now }), url }),
      signWithAws4({ ...kmsOptions(KMS, { date: now }), url }),
    ]) {
      assert.equal(headers.host, '127.0.0.1:18443');
      assertOk(verifier.verify(toRequest(headers, KMS.path, KMS.body), KMS.region, lookupOf(KMS)), KMS.accessKeyId);
    }
  });

  test('79: under HTTP/2 the host comes from :authority', async () => {
    const { verifier } = verifierAt(now);
    const { host, ...rest } = await signKmsStyle(kmsOptions(KMS, { date: now }));
    const request = toRequest({ ...rest, ':authority': host! }, KMS.path, KMS.body);
    assertOk(verifier.verify(request, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
  });

  test('79: no space after the commas in Authorization is tolerated', async () => {
    const { verifier } = verifierAt(now);
    const request = editAuthorization(await kmsSigned(KMS, { date: now }), /, /g, ',');
    assertOk(verifier.verify(request, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
  });

  test('79: a signed header sent as repeated lines (array) is joined with ","', async () => {
    const { verifier } = verifierAt(now);
    const request = await kmsSigned(KMS, { date: now, extraSignedHeaders: { 'x-repeated': 'one,two  three' } });
    request.headers['x-repeated'] = [' one ', 'two \t three'];
    assertOk(verifier.verify(request, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
  });

  test('79: a truthful signed x-amz-content-sha256 verifies', async () => {
    const { verifier } = verifierAt(now);
    const hash = createHash('sha256').update(KMS.body).digest('hex');
    const request = await kmsSigned(KMS, { date: now, extraSignedHeaders: { 'x-amz-content-sha256': hash } });
    assert.match(String(request.headers.authorization), /SignedHeaders=host;x-amz-content-sha256;x-amz-date, /);
    assertOk(verifier.verify(request, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
  });

  test('79: property: smithy and aws4 signatures verify; any single-byte body change fails', async () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_~-][A-Za-z0-9_.~-]{0,15}$/);
    const headerName = fc.stringMatching(/^x-[a-z0-9-]{1,12}$/).filter((n) => !n.startsWith('x-amz'));
    // Printable ASCII with spaces and tabs anywhere, to exercise trimming and collapsing.
    const headerValue = fc.stringMatching(/^[\x21-\x7e \t]{0,40}$/);
    const case_ = fc.record({
      signer: fc.constantFrom('smithy', 'aws4-curl', 'aws4-plain'),
      body: fc.uint8Array({ maxLength: 2048 }),
      path: fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join('/')}`),
      host: fc.tuple(fc.stringMatching(/^[a-z0-9]{1,12}(\.[a-z0-9]{1,12}){0,3}$/), fc.option(fc.integer({ min: 1, max: 65535 }))),
      region: fc.stringMatching(/^[a-z]{2}-[a-z]{4,9}-[1-9]$/),
      // Whole seconds between 2020 and 2035, as X-Amz-Date keeps whole seconds.
      signedAt: fc.integer({ min: 1_577_836_800, max: 2_082_758_399 }).map((s) => s * 1000),
      skewMs: fc.integer({ min: -300_000, max: 300_000 }),
      extra: fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
      accessKeyId: fc.stringMatching(/^[A-Z2-7]{20,30}$/),
      secret: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64')),
      mutateAt: fc.nat(),
      mutateXor: fc.integer({ min: 1, max: 255 }),
    });
    await fc.assert(
      fc.asyncProperty(case_, async (c) => {
        const options: SignOptions = {
          host: c.host[1] === null ? c.host[0] : `${c.host[0]}:${c.host[1]}`,
          path: c.path,
          body: c.body,
          accessKeyId: c.accessKeyId,
          secret: c.secret,
          region: c.region,
          date: c.signedAt,
          extraSignedHeaders: c.extra,
        };
        const headers =
          c.signer === 'smithy' ? await signKmsStyle(options) : signWithAws4({ ...options, signContentType: c.signer === 'aws4-curl' });
        const { verifier } = verifierAt(c.signedAt + c.skewMs);
        const lookup = lookupOf(c);
        const request = toRequest(headers, c.path, c.body);
        assertOk(verifier.verify(request, c.region, lookup), c.accessKeyId);

        const body = Buffer.from(c.body);
        let mutated: Buffer;
        if (body.length === 0) {
          mutated = Buffer.from([c.mutateXor]);
        } else {
          mutated = Buffer.from(body);
          const at = c.mutateAt % body.length;
          mutated[at] = mutated[at]! ^ c.mutateXor;
        }
        assertFails(verifier.verify({ ...request, body: mutated }, c.region, lookup), 'signature-mismatch', request);
      }),
      { numRuns: 300 },
    );
  });
});

describe('SigV4 negative matrix', () => {
  const T = KMS.time;

  test('82: wrong service (kms-xks) → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS, { service: 'kms-xks' });
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'wrong-service', request);
  });

  test('82: wrong region (signed for us-west-2, keystore in us-east-1) → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS, { region: 'us-west-2' });
    assertFails(verifier.verify(request, 'us-east-1', lookupOf(KMS)), 'wrong-region', request);
  });

  test('82: wrong terminator in the credential scope → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = editAuthorization(await kmsSigned(KMS), '/aws4_request,', '/aws4_reques,');
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'wrong-terminator', request);
  });

  test('82: scope date ≠ X-Amz-Date date → authentication fails', async () => {
    const signedAt = Date.UTC(2024, 0, 2, 23, 59, 50);
    const { verifier } = verifierAt(signedAt);
    const request = editAuthorization(await kmsSigned(KMS, { date: signedAt }), '/20240102/', '/20240103/');
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'scope-date-mismatch', request);
  });

  test('81: X-Amz-Date 301 s in the past (clock skew +301 s) → authentication fails', async () => {
    const { verifier } = verifierAt(T + 301_000);
    const request = await kmsSigned(KMS);
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'clock-skew', request);
  });

  test('81: X-Amz-Date 301 s in the future (clock skew −301 s) → authentication fails', async () => {
    const { verifier } = verifierAt(T - 301_000);
    const request = await kmsSigned(KMS);
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'clock-skew', request);
  });

  test('81: X-Amz-Date exactly 300 s in the past or the future is accepted', async () => {
    const request = await kmsSigned(KMS);
    for (const skew of [300_000, -300_000]) {
      const { verifier } = verifierAt(T + skew);
      assertOk(verifier.verify(request, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
    }
  });

  test('79: missing Authorization → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    delete request.headers.authorization;
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'missing-authorization');
  });

  test('79: missing X-Amz-Date → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    delete request.headers['x-amz-date'];
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'missing-date', request);
  });

  test('79: malformed X-Amz-Date → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    for (const date of [
      '20240102T030405',
      '2024-01-02T03:04:05Z',
      '20240102t030405z',
      '20240231T030405Z',
      '20240102T240000Z',
      ' 20240102T030405Z',
    ]) {
      assertFails(
        verifier.verify({ ...request, headers: { ...request.headers, 'x-amz-date': date } }, KMS.region, lookupOf(KMS)),
        'malformed-date',
        request,
      );
    }
    const twice = { ...request, headers: { ...request.headers, 'x-amz-date': [KMS.amzDate, KMS.amzDate] } };
    assertFails(verifier.verify(twice, KMS.region, lookupOf(KMS)), 'malformed-date', request);
  });

  test('79: malformed Authorization header → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    const auth = String(request.headers.authorization);
    const variants = [
      'AWS4-HMAC-SHA256',
      'AWS4-HMAC-SHA256 ',
      auth.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256, '),
      auth.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256  '),
      auth.replace(', SignedHeaders=', ',  SignedHeaders='),
      auth.replace('Credential=', 'Credentials='),
      auth.replace(', SignedHeaders=host;x-amz-date', ''),
      auth.replace('SignedHeaders=host;x-amz-date', 'SignedHeaders='),
      auth.replace(/, Signature=.*$/, ''),
      auth.slice(0, -1),
      `${auth}0`,
      `${auth} `,
      auth.replace(/.$/, 'g'),
      auth.replace(`${KMS.accessKeyId}/`, ''),
      auth.replace(`${KMS.accessKeyId}/`, '/'),
      auth.replace(`${KMS.accessKeyId}/`, `${KMS.accessKeyId}/x/`),
      auth.replace(KMS.accessKeyId, 'BAD KEY'),
    ];
    for (const authorization of variants) {
      const result = verifier.verify({ ...request, headers: { ...request.headers, authorization } }, KMS.region, lookupOf(KMS));
      assertFails(result, 'malformed-authorization', request);
    }
    const twice = { ...request, headers: { ...request.headers, authorization: [auth, auth] } };
    assertFails(verifier.verify(twice, KMS.region, lookupOf(KMS)), 'malformed-authorization', request);
  });

  test('79: wrong algorithm → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    for (const algorithm of ['AWS4-HMAC-SHA512', 'AWS4-ECDSA-P256-SHA256', 'aws4-hmac-sha256', 'Basic', 'Bearer']) {
      assertFails(
        verifier.verify(editAuthorization(request, 'AWS4-HMAC-SHA256', algorithm), KMS.region, lookupOf(KMS)),
        'unsupported-algorithm',
        request,
      );
    }
  });

  test('79: SignedHeaders without host → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = editAuthorization(await kmsSigned(KMS), 'SignedHeaders=host;x-amz-date', 'SignedHeaders=x-amz-date');
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'signed-headers-invalid', request);
    const noDate = editAuthorization(await kmsSigned(KMS), 'SignedHeaders=host;x-amz-date', 'SignedHeaders=host');
    assertFails(verifier.verify(noDate, KMS.region, lookupOf(KMS)), 'signed-headers-invalid', request);
  });

  test('79: SignedHeaders listing an absent header → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS, { extraSignedHeaders: { 'x-extra': 'value' } });
    assertOk(verifier.verify(request, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
    delete request.headers['x-extra'];
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'signed-header-absent', request);
    const noHost = await kmsSigned(KMS);
    delete noHost.headers.host;
    assertFails(verifier.verify(noHost, KMS.region, lookupOf(KMS)), 'signed-header-absent', noHost);
    const proto = editAuthorization(await kmsSigned(KMS), 'SignedHeaders=host;', 'SignedHeaders=__proto__;constructor;host;');
    assertFails(verifier.verify(proto, KMS.region, lookupOf(KMS)), 'signed-header-absent', proto);
  });

  test('79: unsorted, duplicated or upper-case SignedHeaders → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    for (const list of [
      'x-amz-date;host',
      'host;host;x-amz-date',
      'Host;x-amz-date',
      'host;;x-amz-date',
      'host;x-amz-date;',
      ';host;x-amz-date',
      'host;x amz;x-amz-date',
    ]) {
      assertFails(
        verifier.verify(editAuthorization(request, 'host;x-amz-date', list), KMS.region, lookupOf(KMS)),
        'signed-headers-invalid',
        request,
      );
    }
  });

  test('79: tampered body → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    const body = Buffer.from(KMS.body.replace('"x"', '"y"'));
    assertFails(verifier.verify({ ...request, body }, KMS.region, lookupOf(KMS)), 'signature-mismatch', request);
    // Same JSON, other bytes: the raw body is hashed, never a re-serialisation.
    const spaced = Buffer.from(KMS.body.replace(':', ': '));
    assertFails(verifier.verify({ ...request, body: spaced }, KMS.region, lookupOf(KMS)), 'signature-mismatch', request);
  });

  test('79: tampered path → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    for (const path of ['/p/kms/xks/v1/keys/k/encrypt', '/q/kms/xks/v1/health', '/p/kms/xks/v1/health/', '/p/kms/xks/v1/Health']) {
      assertFails(verifier.verify({ ...request, path }, KMS.region, lookupOf(KMS)), 'signature-mismatch', request);
    }
  });

  test('79: tampered signed header value → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    const otherHost = { ...request, headers: { ...request.headers, host: 'xks.example.com:443' } };
    assertFails(verifier.verify(otherHost, KMS.region, lookupOf(KMS)), 'signature-mismatch', request);
    const curl = toRequest(signWithAws4(kmsOptions(KMS)), KMS.path, KMS.body);
    const otherType = { ...curl, headers: { ...curl.headers, 'content-type': 'text/plain' } };
    assertFails(verifier.verify(otherType, KMS.region, lookupOf(KMS)), 'signature-mismatch', curl);
  });

  test('80/83: unknown access key (credential of another prefix) → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS, OTHER);
    // Valid for the other keystore, rejected by this one's lookup.
    assertOk(verifier.verify(request, KMS.region, lookupOf(OTHER)), OTHER.accessKeyId);
    const result = verifier.verify(request, KMS.region, lookupOf(KMS));
    assertFails(result, 'unknown-access-key', request);
    assert.equal(result.ok === false && result.accessKeyId, OTHER.accessKeyId);
  });

  test('87: removed credential (the lookup no longer returns it) → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const live = new Map([[KMS.accessKeyId, KMS.secret]]);
    const lookup = (id: string) => live.get(id);
    const request = await kmsSigned(KMS);
    assertOk(verifier.verify(request, KMS.region, lookup), KMS.accessKeyId);
    live.delete(KMS.accessKeyId);
    assertFails(verifier.verify(request, KMS.region, lookup), 'unknown-access-key', request);
  });

  test('80: wrong secret → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS, { secret: `${KMS.secret.slice(0, -1)}5` });
    assertFails(verifier.verify(request, KMS.region, lookupOf(KMS)), 'signature-mismatch', request);
    // An empty secret from the store is treated as no credential at all.
    assertFails(
      verifier.verify(await kmsSigned(KMS), KMS.region, () => ''),
      'unknown-access-key',
    );
  });

  test('79: signature in upper-case hex → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const request = await kmsSigned(KMS);
    const signature = signatureOf(request);
    const upper = editAuthorization(request, signature, signature.toUpperCase());
    assertFails(verifier.verify(upper, KMS.region, lookupOf(KMS)), 'malformed-authorization', request);
  });

  test('79: x-amz-content-sha256 lying about the body → authentication fails', async () => {
    const { verifier } = verifierAt(T);
    const otherBody = '{"requestMetadata":{"kmsOperation":"KmsHealthCheck","kmsRequestId":"y"}}';
    const lie = createHash('sha256').update(otherBody).digest('hex');
    // Signed: smithy (like aws4) trusts the header, so the signature covers the lie.
    const signed = await kmsSigned(KMS, { extraSignedHeaders: { 'x-amz-content-sha256': lie } });
    assertFails(verifier.verify(signed, KMS.region, lookupOf(KMS)), 'payload-hash-mismatch', signed);
    // The same request replayed with the body the header describes is fine: it tells the truth now.
    assertOk(verifier.verify({ ...signed, body: Buffer.from(otherBody) }, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
    // Unsigned, the header is ignored: adding one that vouches for the signed body does not let
    // another body through, as it would with a verifier that took the header instead of hashing.
    const plain = await kmsSigned(KMS);
    plain.headers['x-amz-content-sha256'] = createHash('sha256').update(KMS.body).digest('hex');
    assertOk(verifier.verify(plain, KMS.region, lookupOf(KMS)), KMS.accessKeyId);
    assertFails(verifier.verify({ ...plain, body: Buffer.from(otherBody) }, KMS.region, lookupOf(KMS)), 'signature-mismatch', plain);
  });
});

describe('SigV4 credentials', () => {
  test('86: two credentials live at once for one lookup both verify', async () => {
    const { verifier } = verifierAt(KMS.time);
    const next = { accessKeyId: 'ROTATEDKEY234567ABCDEFGH', secret: 'bmV3IHNlY3JldCBmb3Igcm90YXRpb24gb2YgNDQgY2hhcnM=' };
    const lookup = lookupOf(KMS, next);
    assertOk(verifier.verify(await kmsSigned(KMS), KMS.region, lookup), KMS.accessKeyId);
    assertOk(verifier.verify(await kmsSigned(KMS, next), KMS.region, lookup), next.accessKeyId);
    const crossed = await kmsSigned(KMS, { accessKeyId: next.accessKeyId });
    assertFails(verifier.verify(crossed, KMS.region, lookup), 'signature-mismatch', crossed);
  });

  test('86: many credentials and days cycle through the signing-key cache and still verify', async () => {
    const { clock, verifier } = verifierAt(KMS.time);
    const credentials = Array.from({ length: 100 }, (_, i) => ({
      accessKeyId: `KEY${String(i).padStart(3, '0')}ABCDEFGHIJKLMNOPQ`,
      secret: `${'s'.repeat(40)}${String(i).padStart(4, '0')}`,
    }));
    const lookup = lookupOf(...credentials);
    for (const day of [0, 1]) {
      const time = KMS.time + day * 86_400_000;
      clock.set(time);
      for (const credential of [...credentials, credentials[0]!]) {
        const request = await kmsSigned(KMS, { ...credential, date: time });
        assertOk(verifier.verify(request, KMS.region, lookup), credential.accessKeyId);
      }
    }
  });

  test('79: a custom maxSkewMs is honoured', async () => {
    const clock = new ManualClock(KMS.time + 61_000);
    const verifier = createSigV4Verifier({ clock, maxSkewMs: 60_000 });
    assertFails(verifier.verify(await kmsSigned(KMS), KMS.region, lookupOf(KMS)), 'clock-skew');
    clock.set(KMS.time + 60_000);
    assertOk(verifier.verify(await kmsSigned(KMS), KMS.region, lookupOf(KMS)), KMS.accessKeyId);
  });

  test('amzDate helper formats whole seconds', () => {
    assert.equal(amzDate(Date.UTC(2024, 0, 2, 3, 4, 5, 999)), '20240102T030405Z');
  });
});
