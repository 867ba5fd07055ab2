/**
 * KMS-side checks of proxy responses (docs/kms-client.md#response-checks, docs/requirements.md#operations, #errors).
 * Pure functions: each takes the parsed response plus what KMS sent, and reports every
 * named rule that failed. Unknown extra response fields are a warning, or a failure in strict mode.
 * The values handed out are built from the checked fields (check-log.ts), never cast from the body.
 */
import { isJsonObject, parseJsonObject, type JsonObject } from '../core/json.js';
import { isXksErrorName, XKS_ERROR_STATUS, type XksErrorName } from '../xks/errors.js';
import { computeCdiv } from './cdiv.js';
import { CheckLog, isString, requireObject, type ValidationOptions, type ValidationReport } from './check-log.js';

const isArray = (value: unknown): value is unknown[] => Array.isArray(value);

// ---------------------------------------------------------------- GetHealthStatus

export const EKM_HEALTH_STATES = ['ACTIVE', 'DEGRADED', 'UNAVAILABLE'] as const;
export type EkmHealthState = (typeof EKM_HEALTH_STATES)[number];

export interface EkmDetail {
  id: string;
  model: string;
  healthStatus: EkmHealthState;
}

export interface HealthStatus {
  xksProxyFleetSize: number;
  xksProxyVendor: string;
  xksProxyModel: string;
  ekmVendor: string;
  ekmFleetDetails: EkmDetail[];
}

const HEALTH_FIELDS = ['xksProxyFleetSize', 'xksProxyVendor', 'xksProxyModel', 'ekmVendor', 'ekmFleetDetails'] as const;

function isEkmDetail(entry: unknown): entry is EkmDetail {
  return (
    isJsonObject(entry) &&
    typeof entry.id === 'string' &&
    typeof entry.model === 'string' &&
    EKM_HEALTH_STATES.some((state) => state === entry.healthStatus)
  );
}

const isFleetSize = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 1;

export function validateHealthResponse(body: unknown, options: ValidationOptions = {}): ValidationReport<HealthStatus> {
  const log = new CheckLog();
  if (!requireObject(log, body)) return log.report<HealthStatus>();
  const xksProxyFleetSize = log.take(
    'xksProxyFleetSize-is-integer-at-least-1',
    body.xksProxyFleetSize,
    isFleetSize,
    `xksProxyFleetSize must be an integer > 0, got ${JSON.stringify(body.xksProxyFleetSize)}`,
  );
  const [xksProxyVendor, xksProxyModel, ekmVendor] = (['xksProxyVendor', 'xksProxyModel', 'ekmVendor'] as const).map((field) =>
    log.take(`${field}-is-string`, body[field], isString, `${field} must be a string`),
  );
  const fleet = log.take('ekmFleetDetails-is-array', body.ekmFleetDetails, isArray, 'ekmFleetDetails must be an array');
  let ekmFleetDetails: EkmDetail[] | undefined;
  if (fleet) {
    log.require(
      'ekmFleetDetails-has-1-to-10-entries',
      fleet.length >= 1 && fleet.length <= 10,
      `ekmFleetDetails must have 1 to 10 entries, got ${fleet.length}`,
    );
    ekmFleetDetails = log.take(
      'ekmFleetDetails-entries-well-formed',
      fleet,
      (entries): entries is EkmDetail[] => entries.every(isEkmDetail),
      'each ekmFleetDetails entry needs string id and model and healthStatus ACTIVE|DEGRADED|UNAVAILABLE',
    );
  }
  log.unknownFields(body, HEALTH_FIELDS, options);
  if (
    xksProxyFleetSize === undefined ||
    xksProxyVendor === undefined ||
    xksProxyModel === undefined ||
    ekmVendor === undefined ||
    ekmFleetDetails === undefined
  ) {
    return log.report<HealthStatus>();
  }
  return log.report({ xksProxyFleetSize, xksProxyVendor, xksProxyModel, ekmVendor, ekmFleetDetails });
}

/** KMS treats a fleet with no EKM able to serve (all UNAVAILABLE) as unreachable. DEGRADED still serves. */
export function hasServingEkm(health: HealthStatus): boolean {
  return health.ekmFleetDetails.some((ekm) => ekm.healthStatus !== 'UNAVAILABLE');
}

// ---------------------------------------------------------------- GetKeyMetadata

export interface KeyMetadata {
  keySpec: string;
  keyUsage: string[];
  keyStatus: string;
}

const METADATA_FIELDS = ['keySpec', 'keyUsage', 'keyStatus'] as const;

const isStringArray = (value: unknown): value is string[] => isArray(value) && value.every(isString);
const isKeyStatus = (value: unknown): value is 'ENABLED' | 'DISABLED' => value === 'ENABLED' || value === 'DISABLED';

export function validateKeyMetadataResponse(body: unknown, options: ValidationOptions = {}): ValidationReport<KeyMetadata> {
  const log = new CheckLog();
  if (!requireObject(log, body)) return log.report<KeyMetadata>();
  const keySpec = log.take('keySpec-is-string', body.keySpec, isString, 'keySpec must be a string');
  const keyUsage = log.take('keyUsage-is-array-of-strings', body.keyUsage, isStringArray, 'keyUsage must be an array of strings');
  if (keyUsage) {
    log.require('keyUsage-at-most-10-entries', keyUsage.length <= 10, `keyUsage must not hold more than 10 values, got ${keyUsage.length}`);
  }
  const keyStatus = log.take(
    'keyStatus-is-ENABLED-or-DISABLED',
    body.keyStatus,
    isKeyStatus,
    `keyStatus must be ENABLED or DISABLED, got ${JSON.stringify(body.keyStatus)}`,
  );
  log.unknownFields(body, METADATA_FIELDS, options);
  if (keySpec === undefined || keyUsage === undefined || keyStatus === undefined) return log.report<KeyMetadata>();
  return log.report({ keySpec, keyUsage, keyStatus });
}

/** The reason CreateKey refuses a well-formed external key, if any (docs/kms-client.md#create-key, in that order). */
export interface CreateKeyRefusal {
  check: 'keySpec-is-AES_256' | 'keyStatus-is-ENABLED' | 'keyUsage-includes-ENCRYPT-and-DECRYPT';
  found: string;
}

export function findCreateKeyRefusal(metadata: KeyMetadata): CreateKeyRefusal | undefined {
  if (metadata.keySpec !== 'AES_256') return { check: 'keySpec-is-AES_256', found: metadata.keySpec };
  if (metadata.keyStatus !== 'ENABLED') return { check: 'keyStatus-is-ENABLED', found: metadata.keyStatus };
  if (!metadata.keyUsage.includes('ENCRYPT') || !metadata.keyUsage.includes('DECRYPT')) {
    return { check: 'keyUsage-includes-ENCRYPT-and-DECRYPT', found: metadata.keyUsage.join(',') };
  }
  return undefined;
}

// ---------------------------------------------------------------- Encrypt

/** What KMS sent to the proxy's Encrypt, needed to judge the answer. */
export interface EncryptRequestFacts {
  plaintext: Buffer;
  /** The decoded `additionalAuthenticatedData` sent, if any. */
  aad?: Buffer;
  cdivRequested: boolean;
}

export interface EncryptOutput {
  ciphertext: Buffer;
  initializationVector: Buffer;
  authenticationTag: Buffer;
  ciphertextMetadata?: Buffer;
  ciphertextDataIntegrityValue?: Buffer;
}

const ENCRYPT_FIELDS = [
  'ciphertext',
  'ciphertextMetadata',
  'initializationVector',
  'authenticationTag',
  'ciphertextDataIntegrityValue',
] as const;

/** Below this length an accidental ciphertext == plaintext is plausible, so the check is skipped. */
const MIN_LENGTH_FOR_IDENTITY_CHECK = 16;

export function validateEncryptResponse(
  body: unknown,
  request: EncryptRequestFacts,
  options: ValidationOptions = {},
): ValidationReport<EncryptOutput> {
  const log = new CheckLog();
  if (!requireObject(log, body)) return log.report<EncryptOutput>();
  const ciphertext = log.base64Field(body, 'ciphertext', true);
  const iv = log.base64Field(body, 'initializationVector', true);
  const tag = log.base64Field(body, 'authenticationTag', true);
  const metadata = log.base64Field(body, 'ciphertextMetadata', false);
  const cdiv = log.base64Field(body, 'ciphertextDataIntegrityValue', request.cdivRequested);

  if (ciphertext) {
    log.require(
      'ciphertext-length-equals-plaintext-length',
      ciphertext.length === request.plaintext.length,
      `ciphertext is ${ciphertext.length} bytes for a ${request.plaintext.length}-byte plaintext`,
    );
    // Simulator extra: a proxy that echoes its input does no encryption at all.
    log.require(
      'ciphertext-differs-from-plaintext',
      ciphertext.length < MIN_LENGTH_FOR_IDENTITY_CHECK || !ciphertext.equals(request.plaintext),
      'the proxy returned the plaintext as ciphertext',
    );
  }
  if (iv) log.require('iv-is-12-or-16-bytes', iv.length === 12 || iv.length === 16, `IV is ${iv.length} bytes`);
  if (tag) log.require('tag-is-16-bytes', tag.length === 16, `authentication tag is ${tag.length} bytes`);
  if (metadata) {
    log.require('metadata-at-most-20-bytes', metadata.length <= 20, `ciphertextMetadata is ${metadata.length} bytes`);
  }
  if (request.cdivRequested && cdiv && ciphertext && iv && tag) {
    const expected = computeCdiv({ aad: request.aad, metadata, iv, ciphertext, tag });
    log.require('cdiv-matches', cdiv.equals(expected), 'ciphertextDataIntegrityValue != SHA-256(AAD‖CM‖IV‖CT‖tag)');
  }
  log.unknownFields(body, ENCRYPT_FIELDS, options);
  if (ciphertext === undefined || iv === undefined || tag === undefined) return log.report<EncryptOutput>();
  return log.report({
    ciphertext,
    initializationVector: iv,
    authenticationTag: tag,
    ...(metadata ? { ciphertextMetadata: metadata } : {}),
    ...(cdiv ? { ciphertextDataIntegrityValue: cdiv } : {}),
  });
}

// ---------------------------------------------------------------- Decrypt

export function validateDecryptResponse(
  body: unknown,
  request: { ciphertext: Buffer },
  options: ValidationOptions = {},
): ValidationReport<Buffer> {
  const log = new CheckLog();
  if (!requireObject(log, body)) return log.report<Buffer>();
  const plaintext = log.base64Field(body, 'plaintext', true);
  if (plaintext) {
    log.require(
      'plaintext-length-equals-ciphertext-length',
      plaintext.length === request.ciphertext.length,
      `plaintext is ${plaintext.length} bytes for a ${request.ciphertext.length}-byte ciphertext`,
    );
  }
  log.unknownFields(body, ['plaintext'], options);
  return log.report(plaintext);
}

// ---------------------------------------------------------------- Error bodies

export interface ProxyErrorBody {
  errorName: XksErrorName;
  errorMessage?: string;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * A non-200 answer must be JSON `{errorName, errorMessage?}` with a known name; otherwise KMS
 * "cannot interpret" it. A long or non-printable `errorMessage`, or a status that does not
 * match the name, is only a conformance warning: KMS picks its message from `errorName` alone.
 */

export function validateErrorResponse(status: number, bodyText: string): ValidationReport<ProxyErrorBody> {
  const log = new CheckLog();
  const errorBody = log.take(
    'error-body-is-json-object',
    parseJsonObject(bodyText),
    (body): body is JsonObject => body !== undefined,
    `HTTP ${status} without a JSON object body`,
  );
  if (!errorBody) return log.report<ProxyErrorBody>();
  const errorName = log.take(
    'errorName-is-known',
    errorBody.errorName,
    isXksErrorName,
    `unknown errorName ${JSON.stringify(errorBody.errorName)}`,
  );
  if (errorName === undefined) return log.report<ProxyErrorBody>();
  log.warn(
    'status-matches-errorName',
    XKS_ERROR_STATUS[errorName] === status,
    `${errorName} should come with HTTP ${XKS_ERROR_STATUS[errorName]}, got ${status}`,
  );
  const message = errorBody.errorMessage;
  if (message !== undefined) {
    log.warn(
      'errorMessage-under-512-printable-ascii',
      typeof message === 'string' && message.length < 512 && PRINTABLE_ASCII.test(message),
      'errorMessage must be a string of fewer than 512 printable ASCII characters',
    );
  }
  return log.report(typeof message === 'string' ? { errorName, errorMessage: message } : { errorName });
}
