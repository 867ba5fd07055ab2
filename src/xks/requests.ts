/**
 * The XKS request model: the JSON Schema of each operation's body, the body types derived from those
 * schemas (so a validated body needs no cast), and the decoded requests the operations receive.
 * `RequestDecoder` (request-decoder.ts) turns one into the other; decoder.ts implements it.
 */
import type { XksOperation } from './route.js';

/**
 * The TypeScript type of a value that passed one of the schemas below (the subset of JSON Schema they
 * use: strings, `const`, and objects with `properties` and `required`). Properties the schema does not
 * list may be present and are never read.
 */
export type FromSchema<S> = S extends { readonly const: infer C }
  ? C
  : S extends { readonly type: 'string' }
    ? string
    : S extends { readonly type: 'object'; readonly properties: infer P; readonly required: readonly (infer R)[] }
      ? Flatten<{ [K in keyof P & R]: FromSchema<P[K]> } & { [K in Exclude<keyof P, R>]?: FromSchema<P[K]> }>
      : never;
type Flatten<T> = { [K in keyof T]: T[K] };

const text = { type: 'string' } as const;
const base64 = { type: 'string', format: 'base64' } as const;
const aesGcm = { type: 'string', const: 'AES_GCM' } as const;

const METADATA_PROPERTIES = {
  awsPrincipalArn: text,
  awsSourceVpc: text,
  awsSourceVpce: text,
  kmsKeyArn: text,
  kmsOperation: text,
  kmsRequestId: text,
  kmsViaService: text,
} as const;

/**
 * Metadata is required as an object with its REQUIRED fields, and nothing more: no formats, no enumerations
 * (docs/requirements.md#readings items 7 and 10).
 *
 *= docs/requirements.md#request-metadata
 *# 19. [MUST NOT] A request is refused as invalid because of an unknown `kmsOperation` (a policy may still deny it, 403).
 *# 20. [MUST] `kmsRequestId` is opaque: values that are not UUIDs, such as `abc` or `x:y/z`, are accepted.
 *# 21. [MUST NOT] The proxy checks the format of `kmsRequestId`.
 *# 23. [MUST] Requests are accepted with or without the OPTIONAL fields `awsSourceVpc`, `awsSourceVpce` and `kmsViaService`.
 *# 24. [REC] Unknown fields, in `requestMetadata` or at the top level, are ignored, since KMS may add fields later.
 *= docs/requirements.md#transport
 *# 7. [MUST] The ARN fields of `requestMetadata` (`awsPrincipalArn`, `kmsKeyArn`) are accepted up to 2048 characters.
 */
function metadataSchema<const R extends readonly (keyof typeof METADATA_PROPERTIES)[]>(required: R) {
  return { type: 'object', required, properties: METADATA_PROPERTIES } as const;
}

export const REQUEST_SCHEMAS = {
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
      /*= docs/requirements.md#encrypt
       *# 34. [MUST] `encryptionAlgorithm` is `AES_GCM`; Keyhold answers any other value with 400 `ValidationException`.
       *# 37. [MUST] `ciphertextDataIntegrityValueAlgorithm`, when sent, is `SHA_256`; Keyhold answers other values with 400. */
      encryptionAlgorithm: aesGcm,
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
      encryptionAlgorithm: aesGcm,
    },
  },
} as const satisfies Record<XksOperation, object>;

/** The body of each operation once its schema accepted it (Base64 fields still encoded). */
export type HealthStatusBody = FromSchema<typeof REQUEST_SCHEMAS.GetHealthStatus>;
export type KeyMetadataBody = FromSchema<typeof REQUEST_SCHEMAS.GetKeyMetadata>;
export type EncryptBody = FromSchema<typeof REQUEST_SCHEMAS.Encrypt>;
export type DecryptBody = FromSchema<typeof REQUEST_SCHEMAS.Decrypt>;

/**
 * What every request carries (docs/requirements.md#request-metadata): the fields GetHealthStatus requires; the key operations
 * require more of them. Unknown fields are kept but never interpreted.
 */
export type RequestMetadata = HealthStatusBody['requestMetadata'];

export interface MetadataOnlyRequest {
  requestMetadata: RequestMetadata;
}

export interface EncryptRequest {
  requestMetadata: RequestMetadata;
  plaintext: Buffer;
  aad?: Buffer;
  /** `ciphertextDataIntegrityValueAlgorithm` was given (it can only be SHA_256). */
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

/** Implementation limits: above the spec minimums, answered with 501 beyond them (docs/requirements.md#limits). */
export interface XksLimits {
  maxPlaintextBytes: number;
  maxAadBytes: number;
}

export const DEFAULT_LIMITS: XksLimits = { maxPlaintextBytes: 8192, maxAadBytes: 16384 };
