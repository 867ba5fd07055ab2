/**
 * `requestMetadata` exactly as KMS sends it (docs/kms-client.md#request-metadata). Callers may override or
 * extend it per call (unknown kmsOperation values, extra fields, 2048-character ARNs); an
 * override set to `undefined` removes the field.
 */
import { randomUUID } from 'node:crypto';

export type RequestMetadata = Record<string, unknown>;

/** Who is calling KMS, as the proxy will see it. */
export interface CallerIdentity {
  awsPrincipalArn: string;
  kmsViaService?: string;
}

function merge(base: RequestMetadata, overrides: RequestMetadata = {}): RequestMetadata {
  return { ...base, ...overrides };
}

/** GetHealthStatus: only kmsRequestId and kmsOperation. */
export function healthRequestMetadata(kmsOperation: string, overrides?: RequestMetadata): RequestMetadata {
  return merge({ kmsRequestId: randomUUID(), kmsOperation }, overrides);
}

/** GetKeyMetadata for CreateKey: no kmsKeyArn and no kmsViaService since spec 1.0.3. */
export function createKeyRequestMetadata(caller: CallerIdentity, overrides?: RequestMetadata): RequestMetadata {
  return merge({ awsPrincipalArn: caller.awsPrincipalArn, kmsOperation: 'CreateKey', kmsRequestId: randomUUID() }, overrides);
}

/** Encrypt and Decrypt. */
export function cryptoRequestMetadata(
  caller: CallerIdentity,
  kmsKeyArn: string,
  kmsOperation: string,
  overrides?: RequestMetadata,
): RequestMetadata {
  return merge(
    {
      awsPrincipalArn: caller.awsPrincipalArn,
      kmsKeyArn,
      kmsOperation,
      kmsRequestId: randomUUID(),
      ...(caller.kmsViaService !== undefined ? { kmsViaService: caller.kmsViaService } : {}),
    },
    overrides,
  );
}
