/**
 * The XKS requests the benchmark sends — Encrypt, Decrypt, GetKeyMetadata and GetHealthStatus —
 * signed like KMS signs them, and the checks that a response is well formed for its operation
 * (docs/requirements.md#operations).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export const OPERATIONS = ['Encrypt', 'Decrypt', 'GetKeyMetadata', 'GetHealthStatus'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** What a 200 response to a request must contain; travels with the request to the load generator. */
export type Expectation =
  | { operation: 'Encrypt'; plaintextBytes: number }
  | { operation: 'Decrypt'; plaintext: string }
  | { operation: 'GetKeyMetadata' }
  | { operation: 'GetHealthStatus' };

/** A ready-to-send request: the load generator replays these verbatim. */
export interface PreparedRequest {
  path: string;
  /** Lower-case names, including `host`, `x-amz-date`, `authorization`, `content-type`, `content-length`. */
  headers: Record<string, string>;
  body: string;
  expect: Expectation;
}

export interface SigningCredential {
  accessKeyId: string;
  secret: string;
  region: string;
}

/** Sizes chosen to look like KMS GenerateDataKey: the plaintext is KMS's ~200-byte inner blob. */
export const PLAINTEXT_BYTES = 200;
export const AAD_BYTES = 64;

const PRINCIPAL = 'arn:aws:iam::111122223333:role/bench';
const KMS_KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/5c0b2ff2-6c43-4a3f-9d1e-3f0c2a7b9e11';

export interface EncryptBody {
  requestMetadata: { awsPrincipalArn: string; kmsKeyArn: string; kmsOperation: string; kmsRequestId: string };
  plaintext: string;
  encryptionAlgorithm: 'AES_GCM';
  additionalAuthenticatedData: string;
}

export function encryptBody(): EncryptBody {
  return {
    requestMetadata: { awsPrincipalArn: PRINCIPAL, kmsKeyArn: KMS_KEY_ARN, kmsOperation: 'GenerateDataKey', kmsRequestId: randomUUID() },
    plaintext: randomBytes(PLAINTEXT_BYTES).toString('base64'),
    encryptionAlgorithm: 'AES_GCM',
    additionalAuthenticatedData: randomBytes(AAD_BYTES).toString('base64'),
  };
}

/** A ciphertext made by a real Encrypt call, with what produced it (for Decrypt requests). */
export interface Sealed {
  keyId: string;
  request: EncryptBody;
  parts: EncryptResponseParts;
}

export function decryptBody(sealed: Sealed): string {
  const { request, parts } = sealed;
  return JSON.stringify({
    requestMetadata: { ...request.requestMetadata, kmsOperation: 'Decrypt', kmsRequestId: randomUUID() },
    ciphertext: parts.ciphertext.toString('base64'),
    ...(parts.ciphertextMetadata ? { ciphertextMetadata: parts.ciphertextMetadata.toString('base64') } : {}),
    initializationVector: parts.iv.toString('base64'),
    authenticationTag: parts.tag.toString('base64'),
    encryptionAlgorithm: 'AES_GCM',
    additionalAuthenticatedData: request.additionalAuthenticatedData,
  });
}

/** GetKeyMetadata as KMS CreateKey sends it (docs/requirements.md#get-key-metadata). */
export function metadataBody(): string {
  return JSON.stringify({ requestMetadata: { awsPrincipalArn: PRINCIPAL, kmsOperation: 'CreateKey', kmsRequestId: randomUUID() } });
}

/** GetHealthStatus as KMS's periodic poll sends it (docs/requirements.md#health). */
export function healthBody(): string {
  return JSON.stringify({ requestMetadata: { kmsRequestId: randomUUID(), kmsOperation: 'KmsHealthCheck' } });
}

export const keyPath = (uriPath: string, keyId: string, action: 'encrypt' | 'decrypt' | 'metadata') => `${uriPath}/keys/${keyId}/${action}`;
export const healthPath = (uriPath: string) => `${uriPath}/health`;

/**
 * Signs like KMS: SigV4, service `kms-xks-proxy`, SignedHeaders exactly `host;x-amz-date`, no
 * `x-amz-content-sha256`; `content-type` is sent but not signed. Signatures stay valid ±5 minutes.
 */
export async function signRequest(
  host: string,
  path: string,
  body: string,
  credential: SigningCredential,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: 'kms-xks-proxy',
    region: credential.region,
    credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secret },
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
    uriEscapePath: false,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'https:',
    hostname: host.replace(/:\d+$/, ''),
    path,
    query: {},
    headers: { host },
    body,
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = String(value);
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(Buffer.byteLength(body));
  return headers;
}

export interface PoolOptions {
  operation: Operation;
  host: string;
  uriPath: string;
  credential: SigningCredential;
  size: number;
  /** Keys the pool is spread over (request i goes to keyIds[i % length]). */
  keyIds: string[];
  /** Decrypt: ciphertexts made by real Encrypt calls to the same server (request i decrypts sealed[i % length]). */
  sealed?: Sealed[];
}

/** A pool of `size` distinct requests for one operation, freshly signed (call once per phase). */
export async function preparePool(options: PoolOptions): Promise<PreparedRequest[]> {
  const pool: PreparedRequest[] = [];
  for (let i = 0; i < options.size; i++) {
    const keyId = options.keyIds[i % options.keyIds.length]!;
    let path: string;
    let body: string;
    let expect: Expectation;
    switch (options.operation) {
      case 'Encrypt':
        path = keyPath(options.uriPath, keyId, 'encrypt');
        body = JSON.stringify(encryptBody());
        expect = { operation: 'Encrypt', plaintextBytes: PLAINTEXT_BYTES };
        break;
      case 'Decrypt': {
        const sealed = options.sealed?.[i % options.sealed.length];
        if (!sealed) throw new Error('a Decrypt pool needs ciphertexts from real Encrypt calls');
        path = keyPath(options.uriPath, sealed.keyId, 'decrypt');
        body = decryptBody(sealed);
        expect = { operation: 'Decrypt', plaintext: sealed.request.plaintext };
        break;
      }
      case 'GetKeyMetadata':
        path = keyPath(options.uriPath, keyId, 'metadata');
        body = metadataBody();
        expect = { operation: 'GetKeyMetadata' };
        break;
      case 'GetHealthStatus':
        path = healthPath(options.uriPath);
        body = healthBody();
        expect = { operation: 'GetHealthStatus' };
        break;
    }
    pool.push({ path, headers: await signRequest(options.host, path, body, options.credential), body, expect });
  }
  return pool;
}

export interface EncryptResponseParts {
  ciphertext: Buffer;
  ciphertextMetadata?: Buffer;
  iv: Buffer;
  tag: Buffer;
}

function parseObject(body: string): Record<string, unknown> | string {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : `response is not a JSON object: ${body.slice(0, 80)}`;
  } catch {
    return `response is not JSON: ${body.slice(0, 80)}`;
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Checks an Encrypt response body against docs/requirements.md#encrypt: ciphertext as long as the plaintext,
 * 12- or 16-byte IV, 16-byte tag, ciphertextMetadata ≤ 20 bytes. Returns the decoded parts, or a
 * description of what is wrong.
 */
export function checkEncryptResponse(body: string, plaintextBytes: number): EncryptResponseParts | string {
  const parsed = parseObject(body);
  if (typeof parsed === 'string') return parsed;
  const b64 = (name: string): Buffer | undefined => {
    const value = parsed[name];
    return typeof value === 'string' && BASE64.test(value) ? Buffer.from(value, 'base64') : undefined;
  };
  const ciphertext = b64('ciphertext');
  const iv = b64('initializationVector');
  const tag = b64('authenticationTag');
  const ciphertextMetadata = b64('ciphertextMetadata');
  if (!ciphertext || ciphertext.length !== plaintextBytes)
    return `ciphertext is ${ciphertext?.length ?? 'missing'} bytes, expected ${plaintextBytes}`;
  if (!iv || (iv.length !== 12 && iv.length !== 16)) return `initializationVector is ${iv?.length ?? 'missing'} bytes, expected 12 or 16`;
  if (!tag || tag.length !== 16) return `authenticationTag is ${tag?.length ?? 'missing'} bytes, expected 16`;
  if (parsed.ciphertextMetadata !== undefined && (!ciphertextMetadata || ciphertextMetadata.length > 20)) {
    return 'ciphertextMetadata is not Base64 of at most 20 bytes';
  }
  return { ciphertext, ciphertextMetadata, iv, tag };
}

/** Decrypt (docs/requirements.md#decrypt): `plaintext` is exactly what was encrypted. */
function checkDecryptResponse(body: string, plaintext: string): string | undefined {
  const parsed = parseObject(body);
  if (typeof parsed === 'string') return parsed;
  return parsed.plaintext === plaintext ? undefined : 'Decrypt returned a different plaintext';
}

/** GetKeyMetadata (docs/requirements.md#get-key-metadata): AES_256, ENCRYPT and DECRYPT usable, ENABLED — what KMS CreateKey requires. */
function checkMetadataResponse(body: string): string | undefined {
  const parsed = parseObject(body);
  if (typeof parsed === 'string') return parsed;
  if (parsed.keySpec !== 'AES_256') return `keySpec is ${JSON.stringify(parsed.keySpec)}, expected "AES_256"`;
  const usage = parsed.keyUsage;
  if (!Array.isArray(usage) || !usage.includes('ENCRYPT') || !usage.includes('DECRYPT') || usage.length > 10)
    return `keyUsage ${JSON.stringify(usage)} lacks ENCRYPT/DECRYPT`;
  if (parsed.keyStatus !== 'ENABLED') return `keyStatus is ${JSON.stringify(parsed.keyStatus)}, expected "ENABLED"`;
  return undefined;
}

/** GetHealthStatus (docs/requirements.md#health): every field present, fleet size > 0, 1–10 EKMs, an ACTIVE one. */
function checkHealthResponse(body: string): string | undefined {
  const parsed = parseObject(body);
  if (typeof parsed === 'string') return parsed;
  const size = parsed.xksProxyFleetSize;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) return `xksProxyFleetSize is ${JSON.stringify(size)}`;
  for (const name of ['xksProxyVendor', 'xksProxyModel', 'ekmVendor']) {
    if (typeof parsed[name] !== 'string') return `${name} is missing`;
  }
  const fleet = parsed.ekmFleetDetails;
  if (!Array.isArray(fleet) || fleet.length < 1 || fleet.length > 10) return 'ekmFleetDetails must hold 1 to 10 entries';
  if (!fleet.some((ekm: unknown) => typeof ekm === 'object' && ekm !== null && 'healthStatus' in ekm && ekm.healthStatus === 'ACTIVE'))
    return 'no EKM is ACTIVE';
  return undefined;
}

/** Checks a 200 body against what its request expects; returns what is wrong, or undefined. */
export function checkResponse(expect: Expectation, body: string): string | undefined {
  switch (expect.operation) {
    case 'Encrypt': {
      const parts = checkEncryptResponse(body, expect.plaintextBytes);
      return typeof parts === 'string' ? parts : undefined;
    }
    case 'Decrypt':
      return checkDecryptResponse(body, expect.plaintext);
    case 'GetKeyMetadata':
      return checkMetadataResponse(body);
    case 'GetHealthStatus':
      return checkHealthResponse(body);
  }
}
