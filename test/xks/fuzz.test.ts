/**
 * Property-based fuzzing of the XKS data plane of one real node (fast-check, fixed seed):
 *   (a) correctly signed requests for all four operations whose JSON was mutated before signing, so they
 *       pass authentication and exercise validation, key resolution and crypto;
 *   (b) mutated methods, paths and headers (Authorization, X-Amz-Date, Host/:authority, Content-Type),
 *       i.e. unsigned, broken or misrouted requests;
 *   (c) Decrypt requests built from real Encrypt responses with random bit flips in each field.
 * Every answer must be one of 200/400/401/404/405/501 with a JSON body; error bodies must follow the spec
 * (docs/requirements.md#errors items 72–75, #transport item 1), and a bit flip must never yield a
 * different plaintext. Afterwards the node must still be healthy and its logs clean.
 *
 * Reproduce a run with FUZZ_SEED=<seed> (logged as a test diagnostic); scale with FUZZ_SCALE=<factor>.
 * `npm test` sends 10,480 requests (scale 1: at least 10,000); `npm run fuzz` (scripts/fuzz.js) sends
 * FUZZ_REQUESTS (default 100,000) by raising the scale.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ClientHttp2Session } from 'node:http2';
import type { Agent } from 'node:https';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type Base64Variant,
  encodeBase64,
  flipBits,
  type Json,
  mutateTree,
  serialize,
  type TextMutation,
  type TreeMutation,
} from '../helpers/fuzz-mutations.js';
import type { TestNode } from '../helpers/node-harness.js';
import { h2Session, keepAliveAgent, parseJson, type RawResponse, sendH2, sendHttps } from '../helpers/raw-http.js';
import { amzDate, signKmsStyle, signWithAws4 } from '../helpers/signers.js';
import { SPEC_ERROR_STATUS, errorOf, isJsonObject, jsonKeys, okBody, successOf } from '../helpers/xks-answers.js';
import { encryptBody, healthBody, signForNode, xks } from '../helpers/xks-client.js';
import { createKeys, useTestNode } from '../helpers/xks-suite.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1_040_301);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const BATCH = 16; // requests in flight at once
const RUNS = { a: Math.ceil(330 * SCALE), b: Math.ceil(200 * SCALE), c: Math.ceil(125 * SCALE) };
const MIN_REQUESTS = Math.floor(10_000 * SCALE);
/** The whole run's deadline grows with its size. */
const TIMEOUT = 180_000 * Math.max(1, SCALE);

const ALLOWED_STATUS = new Set([200, 400, 401, 404, 405, 501]);
const LONG_UNKNOWN_KEY = `${'z.Y_x-'.repeat(21)}wv`; // 128 characters, no such key
const EXISTING_KEYS = new Set(['demo-key', 'encrypt-only', 'decrypt-only', 'no-usage', 'disabled']);
const JSON_CONTENT_TYPES = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'APPLICATION/JSON',
]);
const ROUTE = /^\/demo\/kms\/xks\/v1\/(?:health|keys\/[A-Za-z0-9._-]{1,128}\/(?:metadata|encrypt|decrypt))$/;
const MAX_BODY = 64 * 1024;

type Operation = 'health' | 'metadata' | 'encrypt' | 'decrypt';
type Leg = 'a' | 'b' | 'c';

let node: TestNode;
let agent: Agent;
let session: ClientHttp2Session;

interface PoolEntry {
  plaintext: Buffer;
  aad?: Buffer;
  fields: Record<'ciphertext' | 'ciphertextMetadata' | 'initializationVector' | 'authenticationTag', string>;
}
const pool: PoolEntry[] = [];

const stats = {
  total: 0,
  byLeg: { a: 0, b: 0, c: 0 } as Record<Leg, number>,
  outcomes: { a: new Map<string, number>(), b: new Map<string, number>(), c: new Map<string, number>() } as Record<
    Leg,
    Map<string, number>
  >,
  signatures: new Set<string>(),
  bitFlipRejected: 0,
  bitFlipControls: 0,
};

function pathFor(op: Operation, keyId: string): string {
  return op === 'health' ? `${node.prefix}/kms/xks/v1/health` : `${node.prefix}/kms/xks/v1/keys/${keyId}/${op}`;
}

useTestNode({ setUp: prepare });

/** The fuzzed node: keys of every usage and state, and a pool of real ciphertexts. */
async function prepare(started: TestNode): Promise<void> {
  node = started;
  agent = keepAliveAgent(node, BATCH);
  session = h2Session(node);
  await createKeys(
    node,
    { 'encrypt-only': ['ENCRYPT'], 'decrypt-only': ['DECRYPT'], 'no-usage': [], disabled: ['ENCRYPT', 'DECRYPT'] },
    { disabled: ['disabled'] },
  );
  // Real ciphertexts for the decrypt legs: sizes 0..4300, with and without AAD (up to 8192 bytes).
  for (const [size, aadSize] of [
    [0, 0],
    [1, 0],
    [16, 33],
    [17, 1],
    [100, 0],
    [255, 8192],
    [4300, 0],
    [4300, 512],
  ] as const) {
    const plaintext = randomBytes(size);
    const aad = aadSize > 0 ? randomBytes(aadSize) : undefined;
    const response = await xks(node, {
      operation: 'encrypt',
      body: encryptBody(plaintext, aad ? { additionalAuthenticatedData: aad.toString('base64') } : {}),
    });
    pool.push({ plaintext, aad, fields: okBody(response, 'encrypt') });
  }
}

after(() => {
  session.close();
  agent.destroy();
});

// ---------------------------------------------------------------------------------------------
// Sending and checking
// ---------------------------------------------------------------------------------------------

interface FuzzRequest {
  leg: Leg;
  transport: 'h1' | 'h2';
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** HTTP/2 only. */
  authority?: string;
}

function describeExchange(request: FuzzRequest, response?: RawResponse, note = ''): string {
  const body = request.body.subarray(0, 300).toString('latin1');
  return [
    note,
    `leg ${request.leg} ${request.transport} ${request.method} ${request.path.slice(0, 300)}`,
    `headers ${JSON.stringify(request.headers).slice(0, 600)}${request.authority ? ` :authority ${request.authority}` : ''}`,
    `body (${request.body.length} bytes) ${JSON.stringify(body)}`,
    response ? `→ ${response.status} ${JSON.stringify(response.headers)} ${response.text.slice(0, 400)}` : '',
  ].join('\n  ');
}

async function send(request: FuzzRequest): Promise<RawResponse> {
  stats.total += 1;
  stats.byLeg[request.leg] += 1;
  const auth = request.headers.authorization;
  for (const value of Array.isArray(auth) ? auth : auth ? [auth] : []) {
    const signature = /Signature=([0-9a-f]{64})/.exec(value)?.[1];
    if (signature) stats.signatures.add(signature);
  }
  try {
    if (request.transport === 'h2') {
      return await sendH2(session, {
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: request.body,
        authority: request.authority,
      });
    }
    return await sendHttps(node, agent, { method: request.method, path: request.path, headers: request.headers, body: request.body });
  } catch (error) {
    throw new Error(describeExchange(request, undefined, `transport failure: ${String(error)}`), { cause: error });
  }
}

function fail(request: FuzzRequest, response: RawResponse, why: string): never {
  throw new assert.AssertionError({ message: describeExchange(request, response, why) });
}

/** The properties every answer must satisfy, whatever was sent. Returns the errorName, if any. */
function checkCommon(request: FuzzRequest, response: RawResponse): string | undefined {
  const outcome = `${response.status} ${errorOf(response)?.errorName ?? ''}`.trim();
  const counts = stats.outcomes[request.leg];
  counts.set(outcome, (counts.get(outcome) ?? 0) + 1);

  if (!ALLOWED_STATUS.has(response.status)) fail(request, response, `status ${response.status} not in {200,400,401,404,405,501}`);
  const contentType = response.headers['content-type'];
  if (typeof contentType !== 'string' || !/^application\/json(\s*;.*)?$/i.test(contentType)) {
    fail(request, response, `Content-Type is ${String(contentType)}`);
  }
  if (response.status === 405 && response.headers.allow !== 'POST') fail(request, response, '405 without Allow: POST');
  if (request.method === 'HEAD') {
    if (response.text !== '') fail(request, response, 'HEAD answer has a body');
    return undefined;
  }
  const json = response.json;
  if (json === undefined || json === null || typeof json !== 'object' || Array.isArray(json))
    fail(request, response, 'body is not a JSON object');
  if (response.status === 200 || response.status === 405) return undefined;

  const keys = jsonKeys(response);
  if (!keys.every((k) => k === 'errorName' || k === 'errorMessage'))
    fail(request, response, `unexpected error body keys ${keys.join(',')}`);
  const error = errorOf(response);
  if (!error) fail(request, response, 'errorName is not a string or errorMessage not a string');
  // The spec's table (docs/requirements.md#errors), not the implementation's: the name must be one of its 12, with its status.
  const specStatus = SPEC_ERROR_STATUS[error.errorName];
  if (specStatus === undefined) fail(request, response, `errorName ${error.errorName} is not one the spec defines`);
  if (specStatus !== response.status) fail(request, response, `${error.errorName} must be ${specStatus} (docs/requirements.md#errors)`);
  if (error.errorName === 'InternalException') fail(request, response, 'InternalException');
  if (error.errorMessage !== undefined && !/^[\x20-\x7e]{0,511}$/.test(error.errorMessage)) {
    fail(request, response, 'errorMessage is not < 512 printable ASCII characters');
  }
  return error.errorName;
}

const b64 = (s: string) => Buffer.from(s, 'base64');
const isStrictB64 = (s: unknown) =>
  typeof s === 'string' && s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s) && Buffer.from(s, 'base64').toString('base64') === s;

/** The request body as JSON, when it is a JSON object. */
function sentJson(request: FuzzRequest): Record<string, unknown> | undefined {
  const sent = parseJson(request.body.toString('utf8'));
  return isJsonObject(sent) ? sent : undefined;
}

/** Shape checks for a 200 answer to an operation (the full semantics are tested elsewhere). */
function checkSuccess(request: FuzzRequest, response: RawResponse, op: Operation, expectedPlaintext?: Buffer): void {
  switch (op) {
    case 'health': {
      const r = successOf(response, 'health');
      if (!r || !Number.isInteger(r.xksProxyFleetSize) || r.xksProxyFleetSize < 1) fail(request, response, 'health shape');
      break;
    }
    case 'metadata': {
      const r = successOf(response, 'metadata');
      if (r?.keySpec !== 'AES_256' || !['ENABLED', 'DISABLED'].includes(r.keyStatus)) fail(request, response, 'metadata shape');
      break;
    }
    case 'encrypt': {
      const sent = sentJson(request);
      if (!sent) fail(request, response, '200 for a body that is not a JSON object');
      const r = successOf(response, 'encrypt');
      if (!r) fail(request, response, 'encrypt shape');
      for (const field of ['ciphertext', 'initializationVector', 'authenticationTag', 'ciphertextMetadata'] as const) {
        if (!isStrictB64(r[field])) fail(request, response, `${field} is not strict Base64`);
      }
      if (typeof sent.plaintext !== 'string' || b64(r.ciphertext).length !== b64(sent.plaintext).length)
        fail(request, response, 'ciphertext length ≠ plaintext length');
      if (![12, 16].includes(b64(r.initializationVector).length)) fail(request, response, 'IV length');
      if (b64(r.authenticationTag).length !== 16) fail(request, response, 'tag length');
      if (b64(r.ciphertextMetadata).length > 20) fail(request, response, 'ciphertextMetadata > 20 bytes');
      if ((sent.ciphertextDataIntegrityValueAlgorithm !== undefined) !== (r.ciphertextDataIntegrityValue !== undefined)) {
        fail(request, response, 'CDIV presence does not match the request');
      }
      break;
    }
    case 'decrypt': {
      const r = successOf(response, 'decrypt');
      if (!r || !isStrictB64(r.plaintext)) fail(request, response, 'plaintext is not strict Base64');
      if (expectedPlaintext && !b64(r.plaintext).equals(expectedPlaintext)) fail(request, response, 'DIFFERENT PLAINTEXT returned');
      break;
    }
  }
}

async function runBatch<T>(
  items: T[],
  build: (item: T) => Promise<{ request: FuzzRequest; check: (response: RawResponse) => void }>,
): Promise<void> {
  const built = await Promise.all(items.map(build));
  const responses = await Promise.all(built.map(({ request }) => send(request)));
  built.forEach(({ check }, i) => check(responses[i]!));
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const TOP_FIELDS = [
  'requestMetadata',
  'plaintext',
  'additionalAuthenticatedData',
  'encryptionAlgorithm',
  'ciphertextDataIntegrityValueAlgorithm',
  'ciphertext',
  'ciphertextMetadata',
  'initializationVector',
  'authenticationTag',
];
const B64_FIELDS = [
  'plaintext',
  'additionalAuthenticatedData',
  'ciphertext',
  'ciphertextMetadata',
  'initializationVector',
  'authenticationTag',
];
const META_FIELDS = ['awsPrincipalArn', 'awsSourceVpc', 'awsSourceVpce', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId', 'kmsViaService'];
const VARIANTS: Base64Variant[] = [
  'std',
  'urlsafe',
  'unpadded',
  'whitespace',
  'badchar',
  'noncanonical',
  'extrapad',
  'midpad',
  'latin1',
  'hex',
];

const sizedBytes = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(0, 1, 11, 12, 13, 15, 16, 17, 20, 21, 255, 256, 4300, 8192, 8193, 16384, 16385), fc.nat(255))
      .map(([n, b]) => new Uint8Array(n).fill(b)),
  },
);
const base64Value: fc.Arbitrary<Json> = fc
  .tuple(sizedBytes, fc.oneof({ weight: 4, arbitrary: fc.constant<Base64Variant>('std') }, fc.constantFrom(...VARIANTS)), fc.nat())
  .map(([bytes, variant, at]) => encodeBase64(bytes, variant, at));
const hugeString: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom(2048, 2049, 5736, 10924, 30000, 66000), fc.constantFrom('A', 'é', '=', '\u0000', '😀', '"'))
  .map(([n, c]) => c.repeat(n));
const jsonValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 3, arbitrary: base64Value },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Json>(
      null,
      true,
      false,
      0,
      -1,
      1e308,
      '',
      'AES_GCM',
      'SHA_256',
      'aes_gcm',
      'SHA_512',
      'RSAES_OAEP_SHA_256',
      [],
      {},
      ['AES_GCM'],
      { a: 1 },
    ),
  },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 4 }), { maxLength: 300 }) },
);

const treeMutation: fc.Arbitrary<TreeMutation> = fc.oneof(
  fc.record({ t: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ t: fc.constant('set' as const), at: fc.nat(), value: jsonValue }),
  fc.record({
    t: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.oneof(fc.constantFrom(...TOP_FIELDS, ...META_FIELDS, '__proto__', 'constructor', '', 'toString'), fc.string({ maxLength: 10 })),
    value: jsonValue,
  }),
  fc.record({ t: fc.constant('field' as const), field: fc.constantFrom(...TOP_FIELDS), value: jsonValue }),
  { weight: 3, arbitrary: fc.record({ t: fc.constant('field' as const), field: fc.constantFrom(...B64_FIELDS), value: base64Value }) },
  fc.record({ t: fc.constant('metaField' as const), field: fc.constantFrom(...META_FIELDS), value: jsonValue }),
  fc.record({
    t: fc.constant('nest' as const),
    at: fc.nat(),
    depth: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constantFrom(200, 1000)),
    asObject: fc.boolean(),
  }),
);

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ t: 'none' as const }) },
  fc.record({ t: fc.constant('dupKey' as const), key: fc.constantFrom(...TOP_FIELDS), value: jsonValue, first: fc.boolean() }),
  fc.record({ t: fc.constant('truncate' as const), at: fc.nat() }),
  fc.constant({ t: 'bom' as const }),
  fc.record({ t: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
  fc.constant({ t: 'empty' as const }),
  fc.record({ t: fc.constant('append' as const), junk: fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }) }),
  fc.record({ t: fc.constant('invalidUtf8' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.constant({ t: 'pretty' as const }),
  fc.record({ t: fc.constant('deepWrap' as const), depth: fc.constantFrom(1, 100, 20_000, 40_000) }),
  fc.constant({ t: 'utf16' as const }),
);

const arn2048 = `arn:aws:iam::111122223333:role/${'r'.repeat(2048 - 31)}`;
const metadataArb = fc.record(
  {
    awsPrincipalArn: fc.oneof(
      fc.constantFrom('arn:aws:iam::111122223333:role/tester', 'AWS Internal', 'ec2.amazonaws.com', arn2048),
      fc.string({ unit: 'binary', maxLength: 20 }),
    ),
    kmsKeyArn: fc.oneof(
      fc.constantFrom('arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', `arn:aws:kms:${'k'.repeat(2030)}`),
      fc.string({ maxLength: 20 }),
    ),
    kmsOperation: fc.oneof(
      fc.constantFrom(
        'Encrypt',
        'Decrypt',
        'ReEncrypt',
        'GenerateDataKey',
        'GenerateDataKeyWithoutPlaintext',
        'CreateKey',
        'DescribeKey',
        'KmsHealthCheck',
        'BulkEncrypt',
      ),
      fc.string({ unit: 'binary', maxLength: 20 }),
    ),
    kmsRequestId: fc.oneof(fc.uuid(), fc.constantFrom('abc', 'x:y/z', ''), fc.string({ unit: 'binary', maxLength: 40 })),
    kmsViaService: fc.constantFrom('ebs', 's3'),
    awsSourceVpc: fc.constant('vpc-0123456789abcdef0'),
    awsSourceVpce: fc.constant('vpce-0123456789abcdef0'),
    futureField: fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>,
  },
  { requiredKeys: ['awsPrincipalArn', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId'] },
);

const keyIdArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant('demo-key') },
  fc.constantFrom(
    'encrypt-only',
    'decrypt-only',
    'no-usage',
    'disabled',
    'health-canary',
    'no-such-key',
    LONG_UNKNOWN_KEY,
    'demo-key.',
    'DEMO-KEY',
  ),
);
const contentTypeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant<string | null>('application/json') },
  fc.constantFrom<string | null>(
    ...JSON_CONTENT_TYPES,
    'application/jsonx',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/xml',
    '',
    null,
  ),
);
const transportArb = fc.oneof({ weight: 3, arbitrary: fc.constant<'h1' | 'h2'>('h1') }, fc.constant<'h1' | 'h2'>('h2'));

type Signer = 'raw' | 'aws4' | 'smithy';

/** Signs `body` for POST `path` and returns the headers to send (HTTP/2: without host, with :authority). */
async function signedHeaders(
  signer: Signer,
  path: string,
  body: Buffer,
  contentType: string | null,
  transport: 'h1' | 'h2',
  method = 'POST',
) {
  let headers: Record<string, string>;
  if (signer === 'aws4' && contentType) {
    headers = signWithAws4({
      host: node.host,
      path,
      body,
      accessKeyId: node.credential.accessKeyId,
      secret: node.credential.secret,
      region: node.region,
      contentType,
      method,
    });
  } else if (signer === 'smithy') {
    headers = await signKmsStyle({
      host: node.host,
      path,
      body,
      accessKeyId: node.credential.accessKeyId,
      secret: node.credential.secret,
      region: node.region,
      method,
    });
    if (contentType === null) delete headers['content-type'];
    else headers['content-type'] = contentType;
  } else {
    headers = signForNode(node, path, body, { contentType, method });
  }
  if (transport === 'h2') delete headers.host;
  return headers;
}

function baseBody(
  op: Operation,
  meta: Record<string, Json>,
  enc: { plaintext: Uint8Array; aad?: Uint8Array; cdiv: boolean },
  entry: PoolEntry,
): Json {
  switch (op) {
    case 'health':
    case 'metadata':
      return { requestMetadata: meta };
    case 'encrypt':
      return {
        requestMetadata: meta,
        plaintext: Buffer.from(enc.plaintext).toString('base64'),
        encryptionAlgorithm: 'AES_GCM',
        ...(enc.aad ? { additionalAuthenticatedData: Buffer.from(enc.aad).toString('base64') } : {}),
        ...(enc.cdiv ? { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' } : {}),
      };
    case 'decrypt':
      return {
        requestMetadata: meta,
        ...entry.fields,
        encryptionAlgorithm: 'AES_GCM',
        ...(entry.aad ? { additionalAuthenticatedData: entry.aad.toString('base64') } : {}),
      };
  }
}

// ---------------------------------------------------------------------------------------------
// (a) signed requests with mutated JSON bodies
// ---------------------------------------------------------------------------------------------

const legA = fc.record({
  op: fc.constantFrom<Operation>('health', 'metadata', 'encrypt', 'decrypt'),
  keyId: keyIdArb,
  meta: metadataArb,
  enc: fc.record(
    {
      plaintext: fc.oneof(
        { weight: 5, arbitrary: fc.uint8Array({ maxLength: 64 }) },
        fc.constantFrom(0, 4300).map((n) => new Uint8Array(n).fill(7)),
      ),
      aad: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      cdiv: fc.boolean(),
    },
    { requiredKeys: ['plaintext', 'cdiv'] },
  ),
  poolIndex: fc.nat(),
  tree: fc.oneof(
    { weight: 2, arbitrary: fc.constant<TreeMutation[]>([]) },
    { weight: 8, arbitrary: fc.array(treeMutation, { minLength: 1, maxLength: 4 }) },
  ),
  text: textMutation,
  contentType: contentTypeArb,
  signer: fc.constantFrom<Signer>('raw', 'aws4', 'smithy'),
  transport: transportArb,
});
type LegA = typeof legA extends fc.Arbitrary<infer T> ? T : never;

async function buildA(spec: LegA) {
  const entry = pool[spec.poolIndex % pool.length]!;
  const path = pathFor(spec.op, spec.keyId);
  const tree = mutateTree(baseBody(spec.op, spec.meta, spec.enc, entry), spec.tree);
  const body = serialize(tree, spec.text);
  const headers = await signedHeaders(spec.signer, path, body, spec.contentType, spec.transport);
  const request: FuzzRequest = {
    leg: 'a',
    transport: spec.transport,
    method: 'POST',
    path,
    headers,
    body,
    authority: spec.transport === 'h2' ? node.host : undefined,
  };
  const control =
    spec.tree.length === 0 &&
    (spec.text.t === 'none' || spec.text.t === 'pretty') &&
    spec.contentType !== null &&
    JSON_CONTENT_TYPES.has(spec.contentType);
  const check = (response: RawResponse) => {
    const errorName = checkCommon(request, response);
    // Correctly signed, POST, valid route: never 401 or 405, and 404 only for a key that does not exist.
    if (response.status === 401 || response.status === 405) fail(request, response, 'a correctly signed POST to a valid route');
    if (response.status === 404 && (errorName !== 'KeyNotFoundException' || spec.op === 'health' || EXISTING_KEYS.has(spec.keyId))) {
      fail(request, response, '404 for an existing key or route');
    }
    if (body.length > MAX_BODY && response.status !== 501) fail(request, response, 'a body over 64 KiB must be 501');
    if (control && spec.keyId === 'demo-key' && response.status !== 200) fail(request, response, 'an unmutated valid request must succeed');
    if (response.status === 200) {
      checkSuccess(request, response, spec.op, spec.op === 'decrypt' ? entry.plaintext : undefined);
      checkKeyPermissions(request, response, spec.op, spec.keyId);
    }
  };
  return { request, check };
}

/**
 * What each fuzzed key may do: an unknown or internal key (the health canary) never serves a key operation,
 * a disabled key only answers GetKeyMetadata, and usage is enforced (CDIV needs DECRYPT too).
 */
function checkKeyPermissions(request: FuzzRequest, response: RawResponse, op: Operation, keyId: string): void {
  if (op === 'health') return;
  if (!EXISTING_KEYS.has(keyId)) fail(request, response, `key ${keyId} does not exist (or is internal) but served ${op}`);
  const usage: Record<string, string[]> = {
    'demo-key': ['ENCRYPT', 'DECRYPT'],
    'encrypt-only': ['ENCRYPT'],
    'decrypt-only': ['DECRYPT'],
    'no-usage': [],
    disabled: ['ENCRYPT', 'DECRYPT'],
  };
  if (op === 'metadata') {
    const described = successOf(response, 'metadata');
    if (described?.keyStatus !== (keyId === 'disabled' ? 'DISABLED' : 'ENABLED')) fail(request, response, 'wrong keyStatus');
    if ([...described.keyUsage].sort().join() !== [...usage[keyId]!].sort().join()) fail(request, response, 'wrong keyUsage');
    return;
  }
  if (keyId === 'disabled') fail(request, response, `a disabled key served ${op}`);
  if (op === 'encrypt') {
    const cdiv = sentJson(request)?.ciphertextDataIntegrityValueAlgorithm !== undefined;
    if (!usage[keyId]!.includes('ENCRYPT') || (cdiv && !usage[keyId]!.includes('DECRYPT')))
      fail(request, response, 'key usage not enforced on Encrypt');
  }
  if (op === 'decrypt' && !usage[keyId]!.includes('DECRYPT')) fail(request, response, 'key usage not enforced on Decrypt');
}

// ---------------------------------------------------------------------------------------------
// (b) mutated methods, paths and headers: unsigned, broken or misrouted
// ---------------------------------------------------------------------------------------------

const PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%".split('');
const pathSegment = fc.oneof(
  fc.constantFrom(
    'demo',
    'kms',
    'xks',
    'v1',
    'v2',
    'keys',
    'health',
    'metadata',
    'encrypt',
    'decrypt',
    'demo-key',
    '..',
    '.',
    '',
    '%2F',
    '%2e%2e',
    'api',
    'ping',
    'Demo',
    'x'.repeat(129),
  ),
  fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 12 }),
);
const randomPath = fc
  .tuple(fc.array(pathSegment, { maxLength: 9 }), fc.option(fc.string({ unit: fc.constantFrom(...PATH_CHARS, '/', '?'), maxLength: 12 })))
  .map(([segments, query]) => `/${segments.join('/')}${query === null ? '' : `?${query}`}`);
const pathEdit = fc.record({
  kind: fc.constantFrom(
    'insertSlash',
    'insertDot',
    'insertDotDot',
    'trailingSlash',
    'query',
    'percent',
    'upper',
    'deleteChar',
    'replaceKey',
    'duplicate',
  ),
  at: fc.nat(),
  key: fc.string({ unit: fc.constantFrom(...PATH_CHARS), minLength: 0, maxLength: 140 }),
});
const pathModeArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ mode: fc.constant('valid' as const) }) },
  { weight: 3, arbitrary: fc.record({ mode: fc.constant('edit' as const), edit: pathEdit }) },
  { weight: 3, arbitrary: fc.record({ mode: fc.constant('random' as const), path: randomPath }) },
);

/**
 * An origin-form request target must start with '/': anything else is malformed HTTP/1.1, which Node's
 * parser refuses before the node sees it (see the report on malformed requests), so keep edits inside it.
 */
function editPath(path: string, edit: { kind: string; at: number; key: string }): string {
  const edited = applyPathEdit(path, edit);
  return edited.startsWith('/') ? edited : `/${edited}`;
}

function applyPathEdit(path: string, edit: { kind: string; at: number; key: string }): string {
  const at = edit.at % (path.length + 1);
  switch (edit.kind) {
    case 'insertSlash':
      return `${path.slice(0, at)}/${path.slice(at)}`;
    case 'insertDot':
      return `${path.slice(0, at)}/.${path.slice(at)}`;
    case 'insertDotDot':
      return `${path.slice(0, at)}/..${path.slice(at)}`;
    case 'trailingSlash':
      return `${path}/`;
    case 'query':
      return `${path}?${edit.key}`;
    case 'percent': {
      const i = at % path.length;
      return `${path.slice(0, i)}%${path.charCodeAt(i).toString(16).toUpperCase().padStart(2, '0')}${path.slice(i + 1)}`;
    }
    case 'upper':
      return path.toUpperCase();
    case 'deleteChar':
      return path.slice(0, at) + path.slice(at + 1);
    case 'replaceKey':
      return path.replace(/\/keys\/[^/]+\//, `/keys/${edit.key}/`);
    default:
      return `${path}${path}`;
  }
}

const authMutationArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('keep' as const) }) },
  fc.record({ t: fc.constant('drop' as const) }),
  fc.record({ t: fc.constant('empty' as const) }),
  { weight: 2, arbitrary: fc.record({ t: fc.constant('flipSig' as const), at: fc.nat(63), delta: fc.integer({ min: 1, max: 15 }) }) },
  fc.record({ t: fc.constant('truncate' as const), at: fc.nat() }),
  // Not ' ': trailing whitespace is optional whitespace that the HTTP parser strips, so it changes nothing.
  fc.record({ t: fc.constant('append' as const), c: fc.constantFrom('0', 'a', ',', '=', '/') }),
  fc.record({
    t: fc.constant('replace' as const),
    what: fc.constantFrom(
      ['AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA512 '],
      ['AWS4-HMAC-SHA256 ', 'aws4-hmac-sha256 '],
      ['Credential=', 'credential='],
      ['/kms-xks-proxy/', '/kms-xks/'],
      ['/kms-xks-proxy/', '/kms/'],
      ['/aws4_request', '/aws4_requesT'],
      ['SignedHeaders=host;x-amz-date', 'SignedHeaders=host'],
      ['SignedHeaders=host;x-amz-date', 'SignedHeaders=x-amz-date'],
      ['SignedHeaders=host;x-amz-date', 'SignedHeaders=content-type;host;x-amz-date'],
      ['SignedHeaders=host;x-amz-date', 'SignedHeaders=host;x-amz-date;x-junk'],
      ['SignedHeaders=host;x-amz-date', 'SignedHeaders=Host;X-Amz-Date'],
      ['SignedHeaders=host;x-amz-date', 'SignedHeaders=x-amz-date;host'],
      ['SignedHeaders=host;x-amz-date', 'SignedHeaders=host;host;x-amz-date'],
      ['SignedHeaders=host;x-amz-date', 'SignedHeaders=host;x-amz-date;x-amz-content-sha256'],
      ['Signature=', 'Signature=0'],
      ['Signature=', 'Sig='],
    ),
  }),
  fc.record({
    t: fc.constant('akid' as const),
    akid: fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.split('')), minLength: 20, maxLength: 30 }),
  }),
  fc.record({ t: fc.constant('region' as const), region: fc.constantFrom('us-west-2', 'eu-west-1', 'US-EAST-1', '') }),
  fc.record({ t: fc.constant('scopeDate' as const), days: fc.integer({ min: -2, max: 2 }).filter((d) => d !== 0) }),
  fc.record({ t: fc.constant('upperSig' as const) }),
  fc.record({
    t: fc.constant('random' as const),
    value: fc.string({ unit: fc.constantFrom(...PATH_CHARS, ' ', '/', ','), maxLength: 80 }),
  }),
  fc.record({ t: fc.constant('bearer' as const) }),
  fc.record({ t: fc.constant('dup' as const) }),
);
const dateMutationArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('keep' as const) }) },
  fc.record({ t: fc.constant('drop' as const) }),
  fc.record({
    t: fc.constant('shift' as const),
    seconds: fc.oneof(fc.integer({ min: 1, max: 86_400 }), fc.integer({ min: -86_400, max: -1 }), fc.constantFrom(301, -301, 299, -299)),
  }),
  fc.record({
    t: fc.constant('malformed' as const),
    value: fc.oneof(
      fc.constantFrom(
        '',
        '20240101',
        '2024-01-01T00:00:00Z',
        'yesterday',
        '20241301T000000Z',
        '20240230T000000Z',
        '99999999T999999Z',
        '20240101T000000',
      ),
      fc.string({ unit: fc.constantFrom(...'0123456789TZ-:'.split('')), maxLength: 20 }),
    ),
  }),
  fc.record({ t: fc.constant('dup' as const) }),
);
const hostMutationArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('keep' as const) }) },
  fc.record({
    t: fc.constant('alter' as const),
    variant: fc.constantFrom('bare', 'otherPort', 'ip', 'example', 'upper', 'trailingDot', 'leadingZero'),
  }),
);
const extraHeaderArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('none' as const) }) },
  fc.record({
    t: fc.constant('junk' as const),
    name: fc.constantFrom('x-junk', 'x-amz-security-token', 'x-amz-content-sha256', 'x-forwarded-for', 'x-amz-target', 'accept'),
    value: fc.string({ unit: fc.constantFrom(...PATH_CHARS, ' ', '"', '/'), maxLength: 40 }),
  }),
);
const methodArb = (transport: 'h1' | 'h2') =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant('POST') },
    transport === 'h1'
      ? fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE')
      : fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'FOO', 'post', 'PROPFIND'),
  );

const legB = transportArb.chain((transport) =>
  fc.record({
    transport: fc.constant(transport),
    op: fc.constantFrom<Operation>('health', 'metadata', 'encrypt', 'decrypt'),
    keyId: fc.oneof({ weight: 5, arbitrary: fc.constant('demo-key') }, fc.constantFrom('no-such-key', 'encrypt-only')),
    pathMode: pathModeArb,
    method: methodArb(transport),
    auth: authMutationArb,
    date: dateMutationArb,
    host: hostMutationArb,
    contentType: contentTypeArb,
    extra: extraHeaderArb,
    bodySwap: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, fc.constant(true)),
    poolIndex: fc.nat(),
  }),
);
type LegB = typeof legB extends fc.Arbitrary<infer T> ? T : never;

const isAdminPath = (path: string) =>
  path.startsWith('/api/') || path === '/ping' || path.startsWith('/ping?') || path === '/console' || path.startsWith('/console/');

function mutateAuthorization(auth: string, m: LegB['auth']): string | string[] | undefined {
  switch (m.t) {
    case 'keep':
      return auth;
    case 'drop':
      return undefined;
    case 'empty':
      return '';
    case 'flipSig': {
      const i = auth.length - 64 + m.at;
      const digit = (parseInt(auth[i]!, 16) + m.delta) % 16;
      return `${auth.slice(0, i)}${digit.toString(16)}${auth.slice(i + 1)}`;
    }
    case 'truncate':
      return auth.slice(0, m.at % auth.length);
    case 'append':
      return `${auth}${m.c}`;
    case 'replace':
      return auth.replace(m.what[0], m.what[1]);
    case 'akid':
      return auth.replace(/Credential=[A-Z2-7]+\//, `Credential=${m.akid}/`);
    case 'region':
      return auth.replace(`/${node.region}/`, `/${m.region}/`);
    case 'scopeDate': {
      const match = /Credential=[^/]+\/(\d{8})\//.exec(auth)!;
      const day = new Date(Date.UTC(+match[1]!.slice(0, 4), +match[1]!.slice(4, 6) - 1, +match[1]!.slice(6, 8) + m.days));
      return auth.replace(`/${match[1]}/`, `/${amzDate(day).slice(0, 8)}/`);
    }
    case 'upperSig':
      return auth.slice(0, -64) + auth.slice(-64).toUpperCase();
    case 'random':
      return m.value;
    case 'bearer':
      return 'Bearer 0123456789abcdef';
    case 'dup':
      return [auth, auth];
  }
}

async function buildB(spec: LegB) {
  const entry = pool[spec.poolIndex % pool.length]!;
  const validPath = pathFor(spec.op, spec.keyId);
  let path = validPath;
  if (spec.pathMode.mode === 'edit') path = editPath(validPath, spec.pathMode.edit);
  if (spec.pathMode.mode === 'random') path = spec.pathMode.path;
  if (isAdminPath(path)) path = `/x${path}`; // the admin API is not the data plane
  const meta = {
    awsPrincipalArn: 'arn:aws:iam::111122223333:role/fuzz',
    kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/fuzz',
    kmsOperation: 'Encrypt',
    kmsRequestId: 'fuzz',
  };
  const body = Buffer.from(JSON.stringify(baseBody(spec.op, meta, { plaintext: Buffer.from('fuzz'), cdiv: false }, entry)));
  // Sign exactly what is sent (method, path, body) so that only the chosen mutations can break it.
  const headers: Record<string, string | string[]> = await signedHeaders('raw', path, body, spec.contentType, spec.transport, spec.method);
  const originalAuth = headers.authorization as string;
  const auth = mutateAuthorization(originalAuth, spec.transport === 'h2' && spec.auth.t === 'dup' ? { t: 'keep' } : spec.auth);
  if (auth === undefined) delete headers.authorization;
  else headers.authorization = auth;
  const originalDate = headers['x-amz-date'] as string;
  switch (spec.date.t) {
    case 'drop':
      delete headers['x-amz-date'];
      break;
    case 'shift':
      headers['x-amz-date'] = amzDate(Date.now() + spec.date.seconds * 1000);
      break;
    case 'malformed':
      headers['x-amz-date'] = spec.date.value;
      break;
    case 'dup':
      headers['x-amz-date'] = [originalDate, originalDate];
      break;
  }
  let authority = spec.transport === 'h2' ? node.host : undefined;
  if (spec.host.t === 'alter') {
    const alternatives: Record<string, string> = {
      bare: 'localhost',
      otherPort: `localhost:${node.port + 1}`,
      ip: `127.0.0.1:${node.port}`,
      example: 'example.com',
      upper: `LOCALHOST:${node.port}`,
      trailingDot: `localhost.:${node.port}`,
      leadingZero: `localhost:0${node.port}`,
    };
    const value = alternatives[spec.host.variant]!;
    if (spec.transport === 'h2') authority = value;
    else headers.host = value;
  }
  if (spec.extra.t === 'junk') headers[spec.extra.name] = spec.extra.value;
  const sentBody = spec.bodySwap ? Buffer.concat([body, Buffer.from(' ')]) : body;
  const request: FuzzRequest = { leg: 'b', transport: spec.transport, method: spec.method, path, headers, body: sentBody, authority };

  const authBroken = spec.auth.t !== 'keep' && spec.auth.t !== 'dup' && auth !== originalAuth;
  const broken = authBroken || spec.date.t !== 'keep' || spec.host.t === 'alter' || spec.bodySwap;
  const route = ROUTE.test(path);
  const check = (response: RawResponse) => {
    const errorName = checkCommon(request, response);
    const expect = (status: number, name?: string) => {
      if (response.status !== status || (name && request.method !== 'HEAD' && errorName !== name)) {
        fail(request, response, `expected ${status} ${name ?? ''} (route ${route}, broken ${broken})`);
      }
    };
    if (!route) expect(404, 'InvalidUriPathException');
    else if (request.method !== 'POST') expect(405);
    else if (broken) expect(401, 'AuthenticationFailedException');
    else if (response.status === 401 || response.status === 405) fail(request, response, 'an intact signature was refused');
    else if (response.status === 200) checkSuccess(request, response, spec.op, spec.op === 'decrypt' ? entry.plaintext : undefined);
  };
  return { request, check };
}

// ---------------------------------------------------------------------------------------------
// (c) Decrypt with bit flips in real ciphertexts
// ---------------------------------------------------------------------------------------------

type DecryptField = 'ciphertext' | 'ciphertextMetadata' | 'initializationVector' | 'authenticationTag' | 'additionalAuthenticatedData';
const legC = fc.record({
  poolIndex: fc.nat(),
  field: fc.constantFrom<DecryptField>(
    'ciphertext',
    'ciphertextMetadata',
    'initializationVector',
    'authenticationTag',
    'additionalAuthenticatedData',
  ),
  mode: fc.oneof(
    { weight: 12, arbitrary: fc.constant('bytes' as const) },
    { weight: 3, arbitrary: fc.constant('text' as const) },
    { weight: 2, arbitrary: fc.constant('resize' as const) },
    { weight: 1, arbitrary: fc.constant('none' as const) },
  ),
  bits: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  grow: fc.boolean(),
  transport: transportArb,
});
type LegC = typeof legC extends fc.Arbitrary<infer T> ? T : never;

function flipField(value: string, spec: LegC): string {
  switch (spec.mode) {
    case 'none':
      return value;
    case 'bytes':
      return flipBits(b64(value), spec.bits).toString('base64');
    case 'text': {
      if (value.length === 0) return value;
      const chars = [...value].map((c) => c.charCodeAt(0));
      for (const bit of spec.bits) {
        const index = bit % (chars.length * 7);
        const at = Math.floor(index / 7);
        chars[at] = (chars[at] ?? 0) ^ (1 << (index % 7));
      }
      return String.fromCharCode(...chars);
    }
    case 'resize': {
      const bytes = b64(value);
      const resized = spec.grow
        ? Buffer.concat([bytes, Buffer.from([spec.bits[0]! & 0xff])])
        : bytes.subarray(0, Math.max(0, bytes.length - 1));
      return resized.toString('base64');
    }
  }
}

async function buildC(spec: LegC) {
  const entry = pool[spec.poolIndex % pool.length]!;
  const path = pathFor('decrypt', node.keyId);
  const fields: Record<string, string> = { ...entry.fields };
  if (entry.aad) fields.additionalAuthenticatedData = entry.aad.toString('base64');
  const original = fields[spec.field];
  if (original !== undefined) fields[spec.field] = flipField(original, spec);
  const control = original === undefined || fields[spec.field] === original;
  const body = Buffer.from(
    JSON.stringify({
      requestMetadata: {
        awsPrincipalArn: 'arn:aws:iam::111122223333:role/fuzz',
        kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/fuzz',
        kmsOperation: 'Decrypt',
        kmsRequestId: 'bitflip',
      },
      ciphertext: fields.ciphertext,
      ciphertextMetadata: fields.ciphertextMetadata,
      initializationVector: fields.initializationVector,
      authenticationTag: fields.authenticationTag,
      encryptionAlgorithm: 'AES_GCM',
      ...(fields.additionalAuthenticatedData !== undefined ? { additionalAuthenticatedData: fields.additionalAuthenticatedData } : {}),
    }),
  );
  const headers = await signedHeaders('raw', path, body, 'application/json', spec.transport);
  const request: FuzzRequest = {
    leg: 'c',
    transport: spec.transport,
    method: 'POST',
    path,
    headers,
    body,
    authority: spec.transport === 'h2' ? node.host : undefined,
  };
  const check = (response: RawResponse) => {
    const errorName = checkCommon(request, response);
    if (response.status === 200) {
      // Whatever happened, a success must return exactly the original plaintext.
      checkSuccess(request, response, 'decrypt', entry.plaintext);
      if (!control) fail(request, response, 'a modified ciphertext field decrypted');
      stats.bitFlipControls += 1;
      return;
    }
    if (control) fail(request, response, 'an unmodified ciphertext must decrypt');
    stats.bitFlipRejected += 1;
    const allowed = spec.mode === 'bytes' ? ['InvalidCiphertextException'] : ['InvalidCiphertextException', 'ValidationException'];
    if (response.status !== 400 || !allowed.includes(errorName ?? '')) fail(request, response, `expected 400 ${allowed.join(' or ')}`);
  };
  return { request, check };
}

// ---------------------------------------------------------------------------------------------
// The runs
// ---------------------------------------------------------------------------------------------

function summary(leg: Leg): string {
  const outcomes = [...stats.outcomes[leg].entries()].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k}: ${v}`);
  return `leg ${leg}: ${stats.byLeg[leg]} requests; ${outcomes.join(', ')}`;
}

const count = (leg: Leg, prefix: string) =>
  [...stats.outcomes[leg].entries()].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

describe(`XKS data-plane fuzzing (seed ${SEED}; docs/requirements.md#errors items 72–75, #transport item 1)`, { timeout: TIMEOUT }, () => {
  it('1/72/73/74: (a) correctly signed requests with mutated JSON bodies never crash the node and get spec-shaped answers', async (t) => {
    t.diagnostic(`seed ${SEED}, ${RUNS.a} runs × ${BATCH} requests in flight`);
    await fc.assert(
      fc.asyncProperty(fc.array(legA, { minLength: BATCH, maxLength: BATCH }), (batch) => runBatch(batch, buildA)),
      { numRuns: RUNS.a, seed: SEED },
    );
    t.diagnostic(summary('a'));
    // Not degenerate: successes, validation failures, unknown keys and size limits were all reached.
    for (const prefix of [
      '200',
      '400 ValidationException',
      '404 KeyNotFoundException',
      '501 UnsupportedOperationException',
      '400 InvalidKeyUsageException',
      '400 InvalidStateException',
    ]) {
      if (SCALE >= 1) assert.ok(count('a', prefix) > 0, `leg a never produced ${prefix}: ${summary('a')}`);
    }
  });

  it('1/8/72–75/79–81: (b) mutated methods, paths and headers: 404 before 405 before 401, never a success with a broken signature', async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.array(legB, { minLength: BATCH, maxLength: BATCH }), (batch) => runBatch(batch, buildB)),
      { numRuns: RUNS.b, seed: SEED + 1 },
    );
    t.diagnostic(summary('b'));
    for (const prefix of ['200', '401 AuthenticationFailedException', '404 InvalidUriPathException', '405']) {
      if (SCALE >= 1) assert.ok(count('b', prefix) > 0, `leg b never produced ${prefix}: ${summary('b')}`);
    }
  });

  it('54/59: (c) bit flips in ciphertext, metadata, IV, tag or AAD are rejected; a success is always the original plaintext', async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.array(legC, { minLength: BATCH, maxLength: BATCH }), (batch) => runBatch(batch, buildC)),
      { numRuns: RUNS.c, seed: SEED + 2 },
    );
    t.diagnostic(summary('c'));
    assert.ok(stats.bitFlipControls > 0 && stats.bitFlipRejected > 0, summary('c'));
  });

  it('after the run: the node answers health 200, logged no InternalException, no Authorization header, no signature and no secret', async (t) => {
    t.diagnostic(`total requests ${stats.total}; ${stats.signatures.size} distinct signatures sent`);
    assert.ok(stats.total >= MIN_REQUESTS, `only ${stats.total} requests (at least ${MIN_REQUESTS} at scale ${SCALE})`);

    const health = await xks(node, { operation: 'health', body: healthBody() });
    assert.equal(health.status, 200, health.text);
    const h2Path = pathFor('health', node.keyId);
    const h2Body = Buffer.from(JSON.stringify(healthBody()));
    const overH2 = await sendH2(session, {
      path: h2Path,
      headers: await signedHeaders('raw', h2Path, h2Body, 'application/json', 'h2'),
      body: h2Body,
      authority: node.host,
    });
    assert.equal(overH2.status, 200, overH2.text);

    const text = node.logText();
    assert.ok(node.logs.length >= stats.total * 0.99, `only ${node.logs.length} log lines for ${stats.total} requests`);
    assert.ok(!text.includes('InternalException'), 'InternalException logged');
    assert.ok(!text.includes(node.credential.secret), 'secret logged');
    assert.ok(!text.includes('AWS4-HMAC-SHA256'), 'an Authorization header was logged');
    assert.ok(!/Signature=/i.test(text), 'a signature was logged');
    const loggedHex = new Set(text.match(/[0-9a-f]{64}/g) ?? []);
    for (const signature of loggedHex) assert.ok(!stats.signatures.has(signature), `signature ${signature} logged`);
    for (const entry of pool) {
      if (entry.plaintext.length >= 12) assert.ok(!text.includes(entry.plaintext.toString('base64').slice(0, 16)), 'plaintext logged');
    }
    const statuses = new Set(node.logs.filter((l) => l.event === 'xks.request').map((l) => l.status as number));
    for (const status of statuses) assert.ok(ALLOWED_STATUS.has(status), `logged status ${status}`);
  });
});
