/**
 * KMS-side checks of proxy responses (kms-behaviour.md §5.4, xks-spec.md §6 and §8.1).
 * Pure functions: each takes the parsed response plus what KMS sent, and reports every
 * named rule that failed. Unknown extra response fields are a warning, or a failure in strict mode.
 */
import { XKS_ERROR_NAMES, XKS_ERROR_STATUS, type XksErrorName } from '../xks/errors.js';
import { decodeStrictBase64 } from './base64.js';
import { computeCdiv } from './cdiv.js';

export interface CheckFailure {
  check: string;
  detail: string;
}

export interface ValidationReport<T> {
  /** Present when no rule failed. */
  value?: T;
  failures: CheckFailure[];
  warnings: CheckFailure[];
}

export interface ValidationOptions {
  /** Fail, instead of warn, on fields the spec does not define. */
  strict?: boolean;
}

/** Collects the outcome of named rules for one response. */
class CheckLog {
  readonly failures: CheckFailure[] = [];
  readonly warnings: CheckFailure[] = [];

  /** Records a failure unless `ok`; returns `ok` so callers can stop dependent checks. */
  require(check: string, ok: boolean, detail: string): boolean {
    if (!ok) this.failures.push({ check, detail });
    return ok;
  }

  warn(check: string, ok: boolean, detail: string): void {
    if (!ok) this.warnings.push({ check, detail });
  }

  /** The value is only handed out when every rule passed. */
  report<T>(value?: T): ValidationReport<T> {
    return this.failures.length === 0 && value !== undefined
      ? { value, failures: this.failures, warnings: this.warnings }
      : { failures: this.failures, warnings: this.warnings };
  }

  unknownFields(body: Record<string, unknown>, known: readonly string[], options: ValidationOptions): void {
    const extra = Object.keys(body).filter((field) => !known.includes(field));
    const detail = `unexpected field(s): ${extra.join(', ')}`;
    if (options.strict) this.require('no-unknown-fields', extra.length === 0, detail);
    else this.warn('no-unknown-fields', extra.length === 0, detail);
  }

  /** Requires `body[field]` to be strict standard Base64 (if present or `required`), and returns the bytes. */
  base64Field(body: Record<string, unknown>, field: string, required: boolean): Buffer | undefined {
    const value = body[field];
    if (value === undefined && !required) return undefined;
    if (!this.require(`${field}-present`, typeof value === 'string', `${field} must be a Base64 string`)) return undefined;
    const decoded = decodeStrictBase64(value as string);
    this.require(`${field}-strict-base64`, decoded !== undefined, `${field} is not standard padded Base64 (RFC 4648 §4)`);
    return decoded;
  }
}

type JsonObject = Record<string, unknown>;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a response body that must be one JSON object. */
export function parseJsonObject(bodyText: string): JsonObject | undefined {
  try {
    const parsed: unknown = JSON.parse(bodyText);
    return isJsonObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function requireObject(log: CheckLog, body: unknown): body is JsonObject {
  return log.require('response-is-json-object', isJsonObject(body), 'the response body must be a JSON object');
}

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
    (EKM_HEALTH_STATES as readonly unknown[]).includes(entry.healthStatus)
  );
}

export function validateHealthResponse(body: unknown, options: ValidationOptions = {}): ValidationReport<HealthStatus> {
  const log = new CheckLog();
  if (!requireObject(log, body)) return log.report<HealthStatus>();
  const fleetSize = body.xksProxyFleetSize;
  log.require(
    'xksProxyFleetSize-is-integer-at-least-1',
    typeof fleetSize === 'number' && Number.isInteger(fleetSize) && fleetSize >= 1,
    `xksProxyFleetSize must be an integer > 0, got ${JSON.stringify(fleetSize)}`,
  );
  for (const field of ['xksProxyVendor', 'xksProxyModel', 'ekmVendor'] as const) {
    log.require(`${field}-is-string`, typeof body[field] === 'string', `${field} must be a string`);
  }
  const fleet = body.ekmFleetDetails;
  if (log.require('ekmFleetDetails-is-array', Array.isArray(fleet), 'ekmFleetDetails must be an array')) {
    const entries = fleet as unknown[];
    log.require(
      'ekmFleetDetails-has-1-to-10-entries',
      entries.length >= 1 && entries.length <= 10,
      `ekmFleetDetails must have 1 to 10 entries, got ${entries.length}`,
    );
    log.require(
      'ekmFleetDetails-entries-well-formed',
      entries.every(isEkmDetail),
      'each ekmFleetDetails entry needs string id and model and healthStatus ACTIVE|DEGRADED|UNAVAILABLE',
    );
  }
  log.unknownFields(body, HEALTH_FIELDS, options);
  return log.report(body as unknown as HealthStatus);
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

export function validateKeyMetadataResponse(body: unknown, options: ValidationOptions = {}): ValidationReport<KeyMetadata> {
  const log = new CheckLog();
  if (!requireObject(log, body)) return log.report<KeyMetadata>();
  log.require('keySpec-is-string', typeof body.keySpec === 'string', 'keySpec must be a string');
  const usage = body.keyUsage;
  if (
    log.require(
      'keyUsage-is-array-of-strings',
      Array.isArray(usage) && usage.every((entry) => typeof entry === 'string'),
      'keyUsage must be an array of strings',
    )
  ) {
    const count = (usage as string[]).length;
    log.require('keyUsage-at-most-10-entries', count <= 10, `keyUsage must not hold more than 10 values, got ${count}`);
  }
  log.require(
    'keyStatus-is-ENABLED-or-DISABLED',
    body.keyStatus === 'ENABLED' || body.keyStatus === 'DISABLED',
    `keyStatus must be ENABLED or DISABLED, got ${JSON.stringify(body.keyStatus)}`,
  );
  log.unknownFields(body, METADATA_FIELDS, options);
  return log.report(body as unknown as KeyMetadata);
}

/** The reason CreateKey refuses a well-formed external key, if any (kms-behaviour.md §1.5, in that order). */
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
  return log.report({
    ciphertext: ciphertext as Buffer,
    initializationVector: iv as Buffer,
    authenticationTag: tag as Buffer,
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
  const body = parseJsonObject(bodyText);
  if (!log.require('error-body-is-json-object', body !== undefined, `HTTP ${status} without a JSON object body`)) {
    return log.report<ProxyErrorBody>();
  }
  const errorBody = body as JsonObject;
  const name = errorBody.errorName;
  const known = typeof name === 'string' && (XKS_ERROR_NAMES as readonly string[]).includes(name);
  if (!log.require('errorName-is-known', known, `unknown errorName ${JSON.stringify(name)}`)) {
    return log.report<ProxyErrorBody>();
  }
  const errorName = name as XksErrorName;
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
