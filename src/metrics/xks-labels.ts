import type { XksErrorName } from '../xks/errors.js';
import type { AuthFailureReason } from '../xks/sigv4.js';

/**
 * Label values for XKS request metrics, each from a closed set so a client cannot grow the number of
 * series: `kmsOperation` is the client's own string (the set is open, docs/requirements.md#request-metadata), so anything
 * outside the names KMS is known to send becomes `Other`.
 */
export const KNOWN_KMS_OPERATIONS = [
  'Encrypt',
  'Decrypt',
  'ReEncrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'CreateKey',
  'DescribeKey',
  'CreateCustomKeyStore',
  'ConnectCustomKeyStore',
  'UpdateCustomKeyStore',
  'KmsHealthCheck',
] as const;

const KNOWN_KMS_OPERATION_SET: ReadonlySet<string> = new Set(KNOWN_KMS_OPERATIONS);

/** A label value for "not known for this request" (it failed before routing, or before its body was read). */
export const NONE = '(none)';
export const OTHER_KMS_OPERATION = 'Other';

export function kmsOperationLabel(kmsOperation: string | undefined): string {
  if (kmsOperation === undefined) return NONE;
  return KNOWN_KMS_OPERATION_SET.has(kmsOperation) ? kmsOperation : OTHER_KMS_OPERATION;
}

/**
 * The error classes of the KMS console's XksProxyErrors graphs (docs/kms-client.md#metrics): "Reliability"
 * drops only for retryable errors. `none` is a success.
 */
export type ErrorType = 'none' | 'retryable' | 'non_retryable';

const RETRYABLE: ReadonlySet<string> = new Set<XksErrorName>(['InternalException', 'DependencyTimeoutException', 'ThrottlingException']);

export function errorTypeOf(errorName: string | undefined): ErrorType {
  if (errorName === undefined) return 'none';
  return RETRYABLE.has(errorName) ? 'retryable' : 'non_retryable';
}

/** `ExceptionName` as in XksProxyErrors: the XKS error name, or `None` for a success. */
export const exceptionNameOf = (errorName: string | undefined): string => errorName ?? 'None';

/** Every reason the SigV4 verifier gives (src/xks/sigv4.ts); the compiler checks the list is complete. */
export const AUTH_FAILURE_REASONS = [
  'missing-authorization',
  'malformed-authorization',
  'unsupported-algorithm',
  'missing-date',
  'malformed-date',
  'clock-skew',
  'scope-date-mismatch',
  'wrong-service',
  'wrong-region',
  'wrong-terminator',
  'signed-headers-invalid',
  'signed-header-absent',
  'payload-hash-mismatch',
  'unknown-access-key',
  'signature-mismatch',
] as const satisfies readonly AuthFailureReason[];

type MissingReason = Exclude<AuthFailureReason, (typeof AUTH_FAILURE_REASONS)[number]>;
// Fails to compile when sigv4.ts gains a reason this list lacks.
const everyReasonListed: [MissingReason] extends [never] ? true : MissingReason = true;
void everyReasonListed;

const AUTH_FAILURE_REASON_SET: ReadonlySet<string> = new Set(AUTH_FAILURE_REASONS);

export function authFailureLabel(reason: string): string {
  return AUTH_FAILURE_REASON_SET.has(reason) ? reason : 'other';
}
