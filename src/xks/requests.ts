import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { decodedLength, isStrictBase64 } from './base64.js';
import { XksError } from './errors.js';
import type { XksOperation } from './route.js';

/** What every request carries (xks-spec.md §5). Unknown fields are kept but never interpreted. */
export interface RequestMetadata {
  awsPrincipalArn?: string;
  awsSourceVpc?: string;
  awsSourceVpce?: string;
  kmsKeyArn?: string;
  kmsOperation: string;
  kmsRequestId: string;
  kmsViaService?: string;
}

export interface EncryptRequest {
  requestMetadata: RequestMetadata;
  plaintext: Buffer;
  aad?: Buffer;
  cdivRequested: boolean;
}

export interface DecryptRequest {
  requestMetadata: RequestMetadata;
  ciphertext: Buffer;
  ciphertextMetadata?: Buffer;
  aad?: Buffer;
  iv: Buffer;
  tag: Buffer;
}

export interface MetadataOnlyRequest {
  requestMetadata: RequestMetadata;
}

/** Implementation limits: above the spec minimums, answered with 501 beyond them (xks-spec.md §7.2). */
export interface XksLimits {
  maxPlaintextBytes: number;
  maxAadBytes: number;
}

export const DEFAULT_LIMITS: XksLimits = { maxPlaintextBytes: 8192, maxAadBytes: 16384 };

const base64 = { type: 'string', format: 'base64' } as const;
const text = { type: 'string' } as const;

/**
 * Metadata is required as an object with its REQUIRED fields, and nothing more: no formats, no enumerations
 * (xks-spec.md §17 items 7 and 10).
 *
 *= xks-spec.md#14.3
 *# 19. [MUST NOT] Reject a request because `kmsOperation` is unlisted or unknown, on any API.
 *# 20. [MUST] Treat `kmsRequestId` as opaque; accept non-UUID values such as `abc` or `x:y/z`.
 *# 21. [MUST NOT] Validate the structure of `kmsRequestId`.
 *# 23. Accept requests whether OPTIONAL fields (`awsSourceVpc`, `awsSourceVpce`, `kmsViaService`) are present or absent.
 *# 24. Ignore unknown extra `requestMetadata` and top-level fields.
 *= xks-spec.md#14.1
 *# 7. [MUST] Accept `awsPrincipalArn` and `kmsKeyArn` values of 2048 characters.
 */
function metadataSchema(required: string[]) {
  return {
    type: 'object',
    required,
    properties: {
      awsPrincipalArn: text,
      awsSourceVpc: text,
      awsSourceVpce: text,
      kmsKeyArn: text,
      kmsOperation: text,
      kmsRequestId: text,
      kmsViaService: text,
    },
  };
}

const schemas = {
  GetHealthStatus: {
    type: 'object',
    required: ['requestMetadata'],
    properties: { requestMetadata: metadataSchema(['kmsRequestId', 'kmsOperation']) },
  },
  // Since spec 1.0.3 GetKeyMetadata carries no kmsKeyArn; older clients still send it (and DescribeKey).
  GetKeyMetadata: {
    type: 'object',
    required: ['requestMetadata'],
    properties: { requestMetadata: metadataSchema(['awsPrincipalArn', 'kmsRequestId', 'kmsOperation']) },
  },
  Encrypt: {
    type: 'object',
    required: ['requestMetadata', 'plaintext', 'encryptionAlgorithm'],
    properties: {
      requestMetadata: metadataSchema(['awsPrincipalArn', 'kmsKeyArn', 'kmsRequestId', 'kmsOperation']),
      plaintext: base64,
      additionalAuthenticatedData: base64,
      /*= xks-spec.md#14.5
       *# 34. [MUST] `encryptionAlgorithm` = `AES_GCM`; anything else → 400 (ValidationException).
       *# 37. [MUST] `ciphertextDataIntegrityValueAlgorithm`, when present, must be `SHA_256`; other values → 400. */
      encryptionAlgorithm: { type: 'string', const: 'AES_GCM' },
      ciphertextDataIntegrityValueAlgorithm: { type: 'string', const: 'SHA_256' },
    },
  },
  Decrypt: {
    type: 'object',
    required: ['requestMetadata', 'ciphertext', 'encryptionAlgorithm', 'initializationVector', 'authenticationTag'],
    properties: {
      requestMetadata: metadataSchema(['awsPrincipalArn', 'kmsKeyArn', 'kmsRequestId', 'kmsOperation']),
      ciphertext: base64,
      ciphertextMetadata: base64,
      additionalAuthenticatedData: base64,
      initializationVector: base64,
      authenticationTag: base64,
      encryptionAlgorithm: { type: 'string', const: 'AES_GCM' },
    },
  },
} as const;

function compileValidators(): Record<XksOperation, ValidateFunction> {
  const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });
  ajv.addFormat('base64', { type: 'string', validate: isStrictBase64 });
  return {
    GetHealthStatus: ajv.compile(schemas.GetHealthStatus),
    GetKeyMetadata: ajv.compile(schemas.GetKeyMetadata),
    Encrypt: ajv.compile(schemas.Encrypt),
    Decrypt: ajv.compile(schemas.Decrypt),
  };
}

function describe(error: ErrorObject | undefined): string {
  if (!error) return 'The request body is invalid';
  const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'request body';
  if (error.keyword === 'format') return `${where} must be standard padded Base64`;
  if (error.keyword === 'const') return `${where} has an unsupported value`;
  return `${where} ${error.message ?? 'is invalid'}`;
}

function validation(message: string): XksError {
  return new XksError('ValidationException', message);
}

function decodeOptional(value: unknown): Buffer | undefined {
  return typeof value === 'string' ? Buffer.from(value, 'base64') : undefined;
}

/**
 * Turns a raw, already-authenticated body into a typed request, or a ValidationException (400) /
 * UnsupportedOperationException (501, above Keyhold's limits).
 */
export function createRequestDecoder(limits: XksLimits = DEFAULT_LIMITS) {
  const validators = compileValidators();

  function parse(operation: XksOperation, body: Buffer): Record<string, unknown> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw validation('The request body is not valid JSON');
    }
    const validate = validators[operation];
    if (!validate(parsed)) throw validation(describe(validate.errors?.[0]));
    return parsed as Record<string, unknown>;
  }

  /**
   *= xks-spec.md#14.5
   *# 32. [MUST] Encrypt plaintexts of 0 to 4300 bytes (5736 Base64 characters).
   *# 52. [MUST] Decrypt ciphertexts of 4300 bytes.
   *# 36. [MUST] Handle AAD up to 8192 bytes (10924 Base64 characters) on Encrypt and Decrypt.
   *= xks-spec.md#14.8
   *# 78. [SPEC] Input above the implementation's supported size (but ≥ spec minimum) → 501 `UnsupportedOperationException`.
   */
  function checkSize(field: string, value: unknown, max: number): void {
    if (typeof value === 'string' && decodedLength(value) > max) {
      throw new XksError('UnsupportedOperationException', `${field} is larger than this proxy supports (${max} bytes)`);
    }
  }

  return {
    metadataOnly(operation: 'GetHealthStatus' | 'GetKeyMetadata', body: Buffer): MetadataOnlyRequest {
      return parse(operation, body) as unknown as MetadataOnlyRequest;
    },

    encrypt(body: Buffer): EncryptRequest {
      const raw = parse('Encrypt', body);
      checkSize('plaintext', raw.plaintext, limits.maxPlaintextBytes);
      checkSize('additionalAuthenticatedData', raw.additionalAuthenticatedData, limits.maxAadBytes);
      return {
        requestMetadata: raw.requestMetadata as RequestMetadata,
        plaintext: Buffer.from(raw.plaintext as string, 'base64'),
        aad: decodeOptional(raw.additionalAuthenticatedData),
        cdivRequested: raw.ciphertextDataIntegrityValueAlgorithm !== undefined,
      };
    },

    decrypt(body: Buffer): DecryptRequest {
      const raw = parse('Decrypt', body);
      checkSize('ciphertext', raw.ciphertext, limits.maxPlaintextBytes);
      checkSize('additionalAuthenticatedData', raw.additionalAuthenticatedData, limits.maxAadBytes);
      const ciphertextMetadata = decodeOptional(raw.ciphertextMetadata);
      const iv = Buffer.from(raw.initializationVector as string, 'base64');
      const tag = Buffer.from(raw.authenticationTag as string, 'base64');
      /*= xks-spec.md#14.6
       *# 53. [MUST NOT] Accept request `ciphertextMetadata` over 20 decoded bytes; → 400.
       *# 55. [MUST] Request IV is 12 or 16 bytes; otherwise 400.
       *# 56. [MUST] Request tag is 16 bytes; otherwise 400. */
      if (ciphertextMetadata && ciphertextMetadata.length > 20) throw validation('ciphertextMetadata must be at most 20 bytes');
      if (iv.length !== 12 && iv.length !== 16) throw validation('initializationVector must be 12 or 16 bytes');
      if (tag.length !== 16) throw validation('authenticationTag must be 16 bytes');
      return {
        requestMetadata: raw.requestMetadata as RequestMetadata,
        ciphertext: Buffer.from(raw.ciphertext as string, 'base64'),
        ciphertextMetadata,
        aad: decodeOptional(raw.additionalAuthenticatedData),
        iv,
        tag,
      };
    },
  };
}

export type RequestDecoder = ReturnType<typeof createRequestDecoder>;
