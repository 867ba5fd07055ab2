import type { LiveKeystore } from '../registry/live-state.js';
import { XksError } from './errors.js';
import type { AnyRequest } from './http-io.js';
import type { XksRequestRecord } from './request-record.js';
import type { SigV4Verifier } from './sigv4-verifier.js';

const JSON_CONTENT_TYPE = /^application\/json\s*(;|$)/i;

/**
 * Stage "authenticate": SigV4 over the raw body against the keystore's live credentials.
 *
 *= docs/requirements.md#authentication
 *# 79. [MUST] All four operations require a valid SigV4 signature; a missing or bad one gets 401 `AuthenticationFailedException`.
 */
export function authenticate(
  verifier: SigV4Verifier,
  request: AnyRequest,
  keystore: LiveKeystore,
  body: Buffer,
  record: XksRequestRecord,
): void {
  const result = verifier.verify(
    // Under HTTP/2 the verifier takes `host` from `:authority`.
    { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body },
    keystore.keystore.region,
    (accessKeyId) => keystore.secrets.get(accessKeyId),
  );
  record.accessKeyId = result.accessKeyId;
  if (!result.ok) {
    record.authFailure = result.reason;
    throw new XksError('AuthenticationFailedException', 'The request signature could not be verified');
  }
}

/**
 * The first check of "decode", made as soon as the signature holds: a signed request that is not JSON
 * is a validation failure (400), not an authentication one.
 */
export function requireJsonContentType(request: AnyRequest): void {
  const contentType = request.headers['content-type'];
  if (typeof contentType !== 'string' || !JSON_CONTENT_TYPE.test(contentType)) {
    throw new XksError('ValidationException', 'Content-Type must be application/json');
  }
}
