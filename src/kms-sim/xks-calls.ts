/**
 * The four XKS operations as KMS calls them: build the request, send it, run the KMS-side
 * response checks, record XksProxyErrors/XksProxyLatency, and read the result as either a
 * checked value or a `ProxyOutcome` for the error mapping.
 */
import { encodeBase64 } from './base64.js';
import type { ProxyOutcome } from './error-mapping.js';
import { classifyForMetrics, type ProxyMetrics, type XksOperation } from './metrics.js';
import { kmsOperationOf, type ProxyClient, type ProxyTarget, type RawProxyResult } from './proxy-client.js';
import type { RequestMetadata } from './request-metadata.js';
import type { CheckFailure, ValidationOptions, ValidationReport } from './check-log.js';
import {
  validateDecryptResponse,
  validateEncryptResponse,
  validateErrorResponse,
  validateHealthResponse,
  validateKeyMetadataResponse,
  type EncryptOutput,
  type HealthStatus,
  type KeyMetadata,
} from './validators.js';

export type CallResult<T> = { ok: true; value: T } | { ok: false; outcome: ProxyOutcome; failedChecks: string[] };

export interface XksCallerDeps {
  client: ProxyClient;
  metrics: ProxyMetrics;
  validation?: ValidationOptions;
  /** Receives conformance warnings (e.g. a long errorMessage, unknown response fields). */
  onWarning?: (warning: CheckFailure & { xksOperation: XksOperation }) => void;
}

export interface EncryptCall {
  requestMetadata: RequestMetadata;
  plaintext: Buffer;
  aad?: Buffer;
  cdiv: boolean;
}

export interface DecryptCall {
  requestMetadata: RequestMetadata;
  ciphertext: Buffer;
  initializationVector: Buffer;
  authenticationTag: Buffer;
  ciphertextMetadata?: Buffer;
  aad?: Buffer;
}

export function healthPath(): string {
  return '/health';
}

export function keyPath(xksKeyId: string, action: 'metadata' | 'encrypt' | 'decrypt'): string {
  return `/keys/${xksKeyId}/${action}`;
}

export function encryptBody(call: EncryptCall): Record<string, unknown> {
  return {
    requestMetadata: call.requestMetadata,
    plaintext: encodeBase64(call.plaintext),
    encryptionAlgorithm: 'AES_GCM',
    ...(call.aad ? { additionalAuthenticatedData: encodeBase64(call.aad) } : {}),
    ...(call.cdiv ? { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' } : {}),
  };
}

export function decryptBody(call: DecryptCall): Record<string, unknown> {
  return {
    requestMetadata: call.requestMetadata,
    ciphertext: encodeBase64(call.ciphertext),
    ...(call.ciphertextMetadata ? { ciphertextMetadata: encodeBase64(call.ciphertextMetadata) } : {}),
    encryptionAlgorithm: 'AES_GCM',
    ...(call.aad ? { additionalAuthenticatedData: encodeBase64(call.aad) } : {}),
    initializationVector: encodeBase64(call.initializationVector),
    authenticationTag: encodeBase64(call.authenticationTag),
  };
}

export interface XksCaller {
  getHealthStatus(target: ProxyTarget, requestMetadata: RequestMetadata): Promise<CallResult<HealthStatus>>;
  getKeyMetadata(target: ProxyTarget, xksKeyId: string, requestMetadata: RequestMetadata): Promise<CallResult<KeyMetadata>>;
  encrypt(target: ProxyTarget, xksKeyId: string, call: EncryptCall): Promise<CallResult<EncryptOutput>>;
  decrypt(target: ProxyTarget, xksKeyId: string, call: DecryptCall): Promise<CallResult<Buffer>>;
}

export function createXksCaller({ client, metrics, validation = {}, onWarning }: XksCallerDeps): XksCaller {
  async function call<T>(
    target: ProxyTarget,
    xksOperation: XksOperation,
    path: string,
    body: Record<string, unknown>,
    check: (json: Record<string, unknown>) => ValidationReport<T>,
  ): Promise<CallResult<T>> {
    const raw = await client.exchange(target, path, body);
    const { result, warnings, httpStatus } = interpret(raw, check);
    for (const warning of warnings) onWarning?.({ ...warning, xksOperation });
    metrics.record({
      ...(target.customKeyStoreId ? { customKeyStoreId: target.customKeyStoreId } : {}),
      xksOperation,
      kmsOperation: kmsOperationOf(body),
      outcome: result.ok ? 'success' : result.outcome.kind,
      ...(httpStatus !== undefined ? { httpStatus } : {}),
      ...classifyForMetrics(result.ok ? 'success' : result.outcome),
      latencyMs: raw.latencyMs,
      attempts: raw.attempts,
    });
    return result;
  }

  return {
    getHealthStatus: (target, requestMetadata) =>
      call(target, 'GetHealthStatus', healthPath(), { requestMetadata }, (json) => validateHealthResponse(json, validation)),
    getKeyMetadata: (target, xksKeyId, requestMetadata) =>
      call(target, 'GetKeyMetadata', keyPath(xksKeyId, 'metadata'), { requestMetadata }, (json) =>
        validateKeyMetadataResponse(json, validation),
      ),
    encrypt: (target, xksKeyId, request) =>
      call(target, 'Encrypt', keyPath(xksKeyId, 'encrypt'), encryptBody(request), (json) =>
        validateEncryptResponse(json, { plaintext: request.plaintext, aad: request.aad, cdivRequested: request.cdiv }, validation),
      ),
    decrypt: (target, xksKeyId, request) =>
      call(target, 'Decrypt', keyPath(xksKeyId, 'decrypt'), decryptBody(request), (json) =>
        validateDecryptResponse(json, { ciphertext: request.ciphertext }, validation),
      ),
  };
}

/** Reads a raw answer as KMS would: transport failure, proxy error, unreadable answer, or a checked value. */
export function interpret<T>(
  raw: RawProxyResult,
  check: (json: Record<string, unknown>) => ValidationReport<T>,
): { result: CallResult<T>; warnings: CheckFailure[]; httpStatus?: number } {
  if (raw.kind === 'transport-failure') {
    return { result: { ok: false, outcome: { kind: 'transport', failure: raw.failure }, failedChecks: [] }, warnings: [] };
  }
  const report = raw.status === 200 ? readSuccess(raw.json, check) : readError<T>(raw.status, raw.bodyText);
  return { result: report.result, warnings: report.warnings, httpStatus: raw.status };
}

function readSuccess<T>(
  json: Record<string, unknown> | undefined,
  check: (json: Record<string, unknown>) => ValidationReport<T>,
): { result: CallResult<T>; warnings: CheckFailure[] } {
  if (!json) {
    return { result: { ok: false, outcome: { kind: 'malformed-response' }, failedChecks: ['response-is-json-object'] }, warnings: [] };
  }
  const report = check(json);
  if (report.value !== undefined) return { result: { ok: true, value: report.value }, warnings: report.warnings };
  return {
    result: { ok: false, outcome: { kind: 'malformed-response' }, failedChecks: report.failures.map((failure) => failure.check) },
    warnings: report.warnings,
  };
}

function readError<T>(status: number, bodyText: string): { result: CallResult<T>; warnings: CheckFailure[] } {
  const report = validateErrorResponse(status, bodyText);
  if (report.value) {
    return {
      result: { ok: false, outcome: { kind: 'proxy-error', errorName: report.value.errorName }, failedChecks: [] },
      warnings: report.warnings,
    };
  }
  return {
    result: { ok: false, outcome: { kind: 'malformed-response' }, failedChecks: report.failures.map((failure) => failure.check) },
    warnings: report.warnings,
  };
}
