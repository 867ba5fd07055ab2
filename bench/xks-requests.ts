/**
 * The XKS Encrypt requests the benchmark sends, signed like KMS signs them, and the check that a
 * response to one is a well-formed Encrypt response (xks-spec.md §6.2).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** A ready-to-send request: the load generator replays these verbatim. */
export interface PreparedRequest {
  path: string;
  /** Lower-case names, including `host`, `x-amz-date`, `authorization`, `content-type`, `content-length`. */
  headers: Record<string, string>;
  body: string;
  /** Decoded plaintext length, to check the response's ciphertext length against. */
  plaintextBytes: number;
}

export interface SigningCredential {
  accessKeyId: string;
  secret: string;
  region: string;
}

/** Sizes chosen to look like KMS GenerateDataKey: the plaintext is KMS's ~200-byte inner blob. */
export const PLAINTEXT_BYTES = 200;
export const AAD_BYTES = 64;

export interface EncryptBody {
  requestMetadata: { awsPrincipalArn: string; kmsKeyArn: string; kmsOperation: string; kmsRequestId: string };
  plaintext: string;
  encryptionAlgorithm: 'AES_GCM';
  additionalAuthenticatedData: string;
}

export function encryptBody(): EncryptBody {
  return {
    requestMetadata: {
      awsPrincipalArn: 'arn:aws:iam::111122223333:role/bench',
      kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/5c0b2ff2-6c43-4a3f-9d1e-3f0c2a7b9e11',
      kmsOperation: 'GenerateDataKey',
      kmsRequestId: randomUUID(),
    },
    plaintext: randomBytes(PLAINTEXT_BYTES).toString('base64'),
    encryptionAlgorithm: 'AES_GCM',
    additionalAuthenticatedData: randomBytes(AAD_BYTES).toString('base64'),
  };
}

/**
 * Signs like KMS: SigV4, service `kms-xks-proxy`, SignedHeaders exactly `host;x-amz-date`, no
 * `x-amz-content-sha256`; `content-type` is sent but not signed. Signatures stay valid ±5 minutes.
 */
export async function signRequest(host: string, path: string, body: string, credential: SigningCredential): Promise<Record<string, string>> {
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

/** A pool of `size` distinct Encrypt requests to `path`, freshly signed (call once per phase). */
export async function preparePool(options: {
  host: string;
  path: string;
  credential: SigningCredential;
  size: number;
}): Promise<PreparedRequest[]> {
  const pool: PreparedRequest[] = [];
  for (let i = 0; i < options.size; i++) {
    const body = JSON.stringify(encryptBody());
    const headers = await signRequest(options.host, options.path, body, options.credential);
    pool.push({ path: options.path, headers, body, plaintextBytes: PLAINTEXT_BYTES });
  }
  return pool;
}

export interface EncryptResponseParts {
  ciphertext: Buffer;
  ciphertextMetadata?: Buffer;
  iv: Buffer;
  tag: Buffer;
}

/**
 * Checks an Encrypt response body against xks-spec.md §6.2: ciphertext as long as the plaintext,
 * 12- or 16-byte IV, 16-byte tag, ciphertextMetadata ≤ 20 bytes. Returns the decoded parts, or a
 * description of what is wrong.
 */
export function checkEncryptResponse(body: string, plaintextBytes: number): EncryptResponseParts | string {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return `response is not JSON: ${body.slice(0, 80)}`;
  }
  const b64 = (name: string): Buffer | undefined => {
    const value = parsed[name];
    return typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value) ? Buffer.from(value, 'base64') : undefined;
  };
  const ciphertext = b64('ciphertext');
  const iv = b64('initializationVector');
  const tag = b64('authenticationTag');
  const ciphertextMetadata = b64('ciphertextMetadata');
  if (!ciphertext || ciphertext.length !== plaintextBytes) return `ciphertext is ${ciphertext?.length ?? 'missing'} bytes, expected ${plaintextBytes}`;
  if (!iv || (iv.length !== 12 && iv.length !== 16)) return `initializationVector is ${iv?.length ?? 'missing'} bytes, expected 12 or 16`;
  if (!tag || tag.length !== 16) return `authenticationTag is ${tag?.length ?? 'missing'} bytes, expected 16`;
  if (parsed.ciphertextMetadata !== undefined && (!ciphertextMetadata || ciphertextMetadata.length > 20)) {
    return 'ciphertextMetadata is not Base64 of at most 20 bytes';
  }
  return { ciphertext, ciphertextMetadata, iv, tag };
}
