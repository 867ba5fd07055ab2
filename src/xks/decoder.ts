import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { decodedLength, isStrictBase64 } from './base64.js';
import { XksError } from './errors.js';
import {
  DEFAULT_LIMITS,
  REQUEST_SCHEMAS,
  type DecryptBody,
  type DecryptRequest,
  type EncryptBody,
  type EncryptRequest,
  type HealthStatusBody,
  type KeyMetadataBody,
  type MetadataOnlyRequest,
  type XksLimits,
} from './requests.js';
import type { RequestDecoder } from './request-decoder.js';

/** One compiled validator per operation; each is a type guard for the body type derived from its schema. */
interface Validators {
  GetHealthStatus: ValidateFunction<HealthStatusBody>;
  GetKeyMetadata: ValidateFunction<KeyMetadataBody>;
  Encrypt: ValidateFunction<EncryptBody>;
  Decrypt: ValidateFunction<DecryptBody>;
}

function compileValidators(): Validators {
  const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });
  ajv.addFormat('base64', { type: 'string', validate: isStrictBase64 });
  return {
    GetHealthStatus: ajv.compile<HealthStatusBody>(REQUEST_SCHEMAS.GetHealthStatus),
    GetKeyMetadata: ajv.compile<KeyMetadataBody>(REQUEST_SCHEMAS.GetKeyMetadata),
    Encrypt: ajv.compile<EncryptBody>(REQUEST_SCHEMAS.Encrypt),
    Decrypt: ajv.compile<DecryptBody>(REQUEST_SCHEMAS.Decrypt),
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

function decodeOptional(value: string | undefined): Buffer | undefined {
  return value === undefined ? undefined : Buffer.from(value, 'base64');
}

/** Parses JSON and validates it against one operation's schema; the result has that schema's type. */
function parse<T>(validate: ValidateFunction<T>, body: Buffer): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw validation('The request body is not valid JSON');
  }
  if (!validate(parsed)) throw validation(describe(validate.errors?.[0]));
  return parsed;
}

/**
 * Stage "decode" (see `RequestDecoder`): JSON, schema, strict Base64, sizes.
 */
export function createRequestDecoder(limits: XksLimits = DEFAULT_LIMITS): RequestDecoder {
  const validators = compileValidators();

  /**
   *= docs/requirements.md#encrypt
   *# 32. [MUST] Plaintexts of up to 4300 bytes (5736 Base64 characters) are encrypted; Keyhold also takes an empty one.
   *= docs/requirements.md#decrypt
   *# 52. [MUST] Ciphertexts of 4300 bytes are decrypted.
   *= docs/requirements.md#encrypt
   *# 36. [MUST] AAD of up to 8192 bytes (10924 Base64 characters) is handled on Encrypt and Decrypt.
   *= docs/requirements.md#errors
   *# 78. [SPEC] Input over the proxy's own limit (itself above the required minimum) is answered 501 `UnsupportedOperationException`.
   */
  function checkSize(field: string, value: string | undefined, max: number): void {
    if (value !== undefined && decodedLength(value) > max) {
      throw new XksError('UnsupportedOperationException', `${field} is larger than this proxy supports (${max} bytes)`);
    }
  }

  return {
    metadataOnly(operation: 'GetHealthStatus' | 'GetKeyMetadata', body: Buffer): MetadataOnlyRequest {
      return operation === 'GetHealthStatus' ? parse(validators.GetHealthStatus, body) : parse(validators.GetKeyMetadata, body);
    },

    encrypt(body: Buffer): EncryptRequest {
      const raw = parse(validators.Encrypt, body);
      checkSize('plaintext', raw.plaintext, limits.maxPlaintextBytes);
      checkSize('additionalAuthenticatedData', raw.additionalAuthenticatedData, limits.maxAadBytes);
      return {
        requestMetadata: raw.requestMetadata,
        plaintext: Buffer.from(raw.plaintext, 'base64'),
        aad: decodeOptional(raw.additionalAuthenticatedData),
        cdivRequested: raw.ciphertextDataIntegrityValueAlgorithm !== undefined,
      };
    },

    decrypt(body: Buffer): DecryptRequest {
      const raw = parse(validators.Decrypt, body);
      checkSize('ciphertext', raw.ciphertext, limits.maxPlaintextBytes);
      checkSize('additionalAuthenticatedData', raw.additionalAuthenticatedData, limits.maxAadBytes);
      const ciphertextMetadata = decodeOptional(raw.ciphertextMetadata);
      const iv = Buffer.from(raw.initializationVector, 'base64');
      const tag = Buffer.from(raw.authenticationTag, 'base64');
      /*= docs/requirements.md#decrypt
       *# 53. [MUST NOT] A request `ciphertextMetadata` over 20 decoded bytes is accepted; Keyhold answers 400 `ValidationException`.
       *# 55. [MUST] The request IV is 12 or 16 bytes; other lengths get 400.
       *# 56. [MUST] The request tag is 16 bytes; other lengths get 400. */
      if (ciphertextMetadata && ciphertextMetadata.length > 20) throw validation('ciphertextMetadata must be at most 20 bytes');
      if (iv.length !== 12 && iv.length !== 16) throw validation('initializationVector must be 12 or 16 bytes');
      if (tag.length !== 16) throw validation('authenticationTag must be 16 bytes');
      return {
        requestMetadata: raw.requestMetadata,
        ciphertext: Buffer.from(raw.ciphertext, 'base64'),
        ciphertextMetadata,
        aad: decodeOptional(raw.additionalAuthenticatedData),
        iv,
        tag,
      };
    },
  };
}
