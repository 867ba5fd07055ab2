/**
 * The contract of the "authenticate" stage: SigV4 verification of one XKS request against the
 * credentials of the keystore its path prefix selects (docs/requirements.md#authentication). Implemented in sigv4.ts.
 *
 * Nothing a verifier returns carries the secret, the signature or the Authorization header. A failure
 * carries a reason for the logs and, once parsed, the access key id the client claimed.
 */

export interface SignedRequest {
  method: string;
  /** The raw path as received, without the query string. */
  path: string;
  /** Lower-case names as Node gives them; under HTTP/2 `host` may be absent and `:authority` present. */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body bytes, before any parsing. */
  body: Buffer;
}

export type AuthFailureReason =
  | 'missing-authorization'
  | 'malformed-authorization'
  | 'unsupported-algorithm'
  | 'missing-date'
  | 'malformed-date'
  | 'clock-skew'
  | 'scope-date-mismatch'
  | 'wrong-service'
  | 'wrong-region'
  | 'wrong-terminator'
  | 'signed-headers-invalid'
  | 'signed-header-absent'
  /** `x-amz-content-sha256` is signed but is not the hash of the body received. */
  | 'payload-hash-mismatch'
  | 'unknown-access-key'
  | 'signature-mismatch';

export type VerifyResult = { ok: true; accessKeyId: string } | { ok: false; reason: AuthFailureReason; accessKeyId?: string };

export interface SigV4Verifier {
  /**
   * @param expectedRegion the region of the keystore the path prefix selects.
   * @param lookupSecret the secret of an access key id of that keystore, or undefined. Called on every
   *   request, so added and removed credentials take effect at once.
   */
  verify(request: SignedRequest, expectedRegion: string, lookupSecret: (accessKeyId: string) => string | undefined): VerifyResult;
}
