/**
 * Reading XKS answers in tests, typed and checked: the 200 body of each operation, the error body
 * (docs/requirements.md#operations, #errors), and the spec's own table of error names and their HTTP statuses (docs/requirements.md#errors), so
 * tests compare the node's answers with the spec rather than with the implementation's table.
 */
import assert from 'node:assert/strict';
import type { DecryptResponse } from '../../src/xks/operations/decrypt.js';
import type { EncryptResponse } from '../../src/xks/operations/encrypt.js';
import type { HealthStatusResponse } from '../../src/xks/operations/get-health-status.js';
import type { KeyMetadataResponse } from '../../src/xks/operations/get-key-metadata.js';
import type { XksApi } from './xks-client.js';

/**
 * docs/requirements.md#errors, error name → HTTP status, written out as the spec gives it (never read from
 * src/xks/errors.ts). "An implementation should emit only the 12 names above."
 */
export const SPEC_ERROR_STATUS: Readonly<Record<string, number>> = {
  ValidationException: 400,
  InvalidStateException: 400,
  InvalidCiphertextException: 400,
  InvalidKeyUsageException: 400,
  AuthenticationFailedException: 401,
  AccessDeniedException: 403,
  KeyNotFoundException: 404,
  InvalidUriPathException: 404,
  ThrottlingException: 429,
  UnsupportedOperationException: 501,
  DependencyTimeoutException: 503,
  InternalException: 500,
};

/** docs/requirements.md#errors. */
export interface XksErrorBody {
  errorName: string;
  errorMessage?: string;
}

export interface SuccessBodies {
  health: HealthStatusResponse;
  metadata: KeyMetadataResponse;
  encrypt: EncryptResponse;
  decrypt: DecryptResponse;
}

/** Any answer a test client returns (xks(), sendHttps, sendH2, curl). */
export interface Answer {
  status: number;
  text: string;
  json: unknown;
}

type FieldType = 'string' | 'number' | 'array';

/** The fields each 200 body must carry, and their JSON types (docs/requirements.md#operations). */
const REQUIRED_FIELDS: { [A in XksApi]: Record<keyof SuccessBodies[A] & string, FieldType | undefined> } = {
  health: { xksProxyFleetSize: 'number', xksProxyVendor: 'string', xksProxyModel: 'string', ekmVendor: 'string', ekmFleetDetails: 'array' },
  metadata: { keySpec: 'string', keyUsage: 'array', keyStatus: 'string' },
  encrypt: {
    ciphertext: 'string',
    ciphertextMetadata: 'string',
    initializationVector: 'string',
    authenticationTag: 'string',
    ciphertextDataIntegrityValue: undefined,
  },
  decrypt: { plaintext: 'string' },
};

/** A JSON object (not null, not an array). */
export function isJsonObject(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json);
}

function hasFields<A extends XksApi>(json: unknown, api: A): json is SuccessBodies[A] {
  if (!isJsonObject(json)) return false;
  const fields: Record<string, FieldType | undefined> = REQUIRED_FIELDS[api];
  return Object.entries(fields).every(([name, type]) => {
    const value = json[name];
    if (type === undefined) return true;
    return type === 'array' ? Array.isArray(value) : typeof value === type;
  });
}

/** The 200 body of `api`, or undefined when the answer is not one (any status, any shape). */
export function successOf<A extends XksApi>(response: Answer, api: A): SuccessBodies[A] | undefined {
  return response.status === 200 && hasFields(response.json, api) ? response.json : undefined;
}

/** Asserts a 200 answer to `api` carrying the fields the spec requires, and returns it typed. */
export function okBody<A extends XksApi>(response: Answer, api: A): SuccessBodies[A] {
  assert.equal(response.status, 200, response.text);
  const json = response.json;
  assert.ok(hasFields(json, api), `not a ${api} answer: ${response.text}`);
  return json;
}

/** The error body, when the answer is one (`{errorName: string, errorMessage?: string}`); never checks the status. */
export function errorOf(response: Answer): XksErrorBody | undefined {
  const json = response.json;
  if (!isJsonObject(json) || typeof json.errorName !== 'string') return undefined;
  if (json.errorMessage !== undefined && typeof json.errorMessage !== 'string') return undefined;
  return { errorName: json.errorName, errorMessage: json.errorMessage };
}

/** The top-level field names of the answer's JSON body (none when it is not a JSON object). */
export function jsonKeys(response: Answer): string[] {
  return isJsonObject(response.json) ? Object.keys(response.json) : [];
}

/** Asserts an error answer with this status and errorName, and returns its body. */
export function expectError(response: Answer, status: number, errorName: string, what = ''): XksErrorBody {
  assert.equal(response.status, status, `${what} ${response.text}`);
  const error = errorOf(response);
  assert.equal(error?.errorName, errorName, `${what} ${response.text}`);
  assert.ok(error);
  return error;
}
