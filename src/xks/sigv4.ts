/**
 * SigV4 verification of XKS requests (docs/requirements.md#authentication, docs/kms-client.md#sigv4-verification), on node:crypto only.
 *
 * No npm library verifies SigV4 correctly for this use (docs/kms-client.md#sigv4-libraries), so this recomputes the
 * signature by hand. It runs on every XKS request: the Authorization header is parsed with indexOf and
 * charCodeAt (no regular expressions that could backtrack), and the derived signing key is cached.
 *
 * Nothing returned or thrown from here carries the secret, the signature or the Authorization header.
 * A failure carries a reason for the logs and, once parsed, the access key id the client claimed.
 *
 * Slightly over 300 lines on purpose: the character-level parsers at the bottom exist only for this
 * verifier, and reading them next to it is how a reviewer checks it. The contract is sigv4-verifier.ts.
 */
import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { AuthFailureReason, SignedRequest, SigV4Verifier, VerifyResult } from './sigv4-verifier.js';

export interface SigV4VerifierOptions {
  clock: Clock;
  /** Largest accepted |now − X-Amz-Date|, inclusive. Default 300 000 (5 minutes). */
  maxSkewMs?: number;
  /** The credential-scope service. Default `kms-xks-proxy`. */
  service?: string;
}

// The verifier's contract and result types live in sigv4-verifier.ts; re-exported for existing importers.
export type { AuthFailureReason, SignedRequest, SigV4Verifier, VerifyResult } from './sigv4-verifier.js';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AUTH_PREFIX = `${ALGORITHM} Credential=`;
const SIGNED_HEADERS_LABEL = 'SignedHeaders=';
const SIGNATURE_LABEL = 'Signature=';
const TERMINATOR = 'aws4_request';
const DEFAULT_SERVICE = 'kms-xks-proxy';
const DEFAULT_MAX_SKEW_MS = 300_000;
const MAX_ACCESS_KEY_ID_LENGTH = 128;
/** Filled only after every scope check passes: live entries ≈ (secrets + 1 dummy) × regions × 2 dates. */
const SIGNING_KEY_CACHE_SIZE = 64;

export function createSigV4Verifier(options: SigV4VerifierOptions): SigV4Verifier {
  const clock = options.clock;
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const service = options.service ?? DEFAULT_SERVICE;
  // Used in place of the secret of an unknown access key id, so that failure costs the same work.
  const dummySecret = randomBytes(32).toString('base64');
  // kSigning per (secret, scope date, region); insertion order gives FIFO eviction.
  const signingKeys = new Map<string, Buffer>();

  function signingKey(secret: string, date: string, region: string): Buffer {
    const cacheKey = `${date}/${region}/${secret}`;
    let key = signingKeys.get(cacheKey);
    if (key === undefined) {
      //= docs/requirements.md#authentication
      //# 82. [MUST] The signing key is derived with service `kms-xks-proxy` and the date and region of the Credential scope.
      const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
      const kRegion = createHmac('sha256', kDate).update(region).digest();
      const kService = createHmac('sha256', kRegion).update(service).digest();
      key = createHmac('sha256', kService).update(TERMINATOR).digest();
      if (signingKeys.size >= SIGNING_KEY_CACHE_SIZE) {
        const oldest = signingKeys.keys().next();
        if (!oldest.done) signingKeys.delete(oldest.value);
      }
      signingKeys.set(cacheKey, key);
    }
    return key;
  }

  function verify(request: SignedRequest, expectedRegion: string, lookupSecret: (accessKeyId: string) => string | undefined): VerifyResult {
    const headers = request.headers;

    //= docs/requirements.md#authentication
    //# 79. [MUST] All four operations require a valid SigV4 signature; a missing or bad one gets 401 `AuthenticationFailedException`.
    const auth = headers.authorization;
    if (auth === undefined || auth === '') return fail('missing-authorization');
    if (typeof auth !== 'string') return fail('malformed-authorization');

    // AWS4-HMAC-SHA256 Credential=<akid>/<date>/<region>/<service>/aws4_request, SignedHeaders=<h;h>, Signature=<64 hex>
    if (!auth.startsWith(AUTH_PREFIX)) {
      // Tell a wrong algorithm from a broken header: is the first token (up to ' ' or ',') ours?
      const c = auth.charCodeAt(ALGORITHM.length);
      const ours = auth.startsWith(ALGORITHM) && (Number.isNaN(c) || c === 0x20 || c === 0x2c);
      return fail(ours ? 'malformed-authorization' : 'unsupported-algorithm');
    }
    const credentialStart = AUTH_PREFIX.length;
    const credentialEnd = auth.indexOf(',', credentialStart);
    if (credentialEnd === -1) return fail('malformed-authorization');
    let pos = skipOptionalSpace(auth, credentialEnd + 1);
    if (!auth.startsWith(SIGNED_HEADERS_LABEL, pos)) return fail('malformed-authorization');
    const signedHeadersStart = pos + SIGNED_HEADERS_LABEL.length;
    const signedHeadersEnd = auth.indexOf(',', signedHeadersStart);
    if (signedHeadersEnd === -1 || signedHeadersEnd === signedHeadersStart) return fail('malformed-authorization');
    pos = skipOptionalSpace(auth, signedHeadersEnd + 1);
    if (!auth.startsWith(SIGNATURE_LABEL, pos)) return fail('malformed-authorization');
    const signatureStart = pos + SIGNATURE_LABEL.length;
    if (auth.length - signatureStart !== 64 || !isLowerHex(auth, signatureStart)) {
      return fail('malformed-authorization');
    }

    // Credential scope: exactly five '/'-separated parts.
    const s1 = auth.indexOf('/', credentialStart);
    const s2 = s1 === -1 ? -1 : auth.indexOf('/', s1 + 1);
    const s3 = s2 === -1 ? -1 : auth.indexOf('/', s2 + 1);
    const s4 = s3 === -1 ? -1 : auth.indexOf('/', s3 + 1);
    if (s4 === -1 || s4 > credentialEnd || auth.lastIndexOf('/', credentialEnd) !== s4) {
      return fail('malformed-authorization');
    }
    if (!isAccessKeyId(auth, credentialStart, s1)) return fail('malformed-authorization');
    const accessKeyId = auth.slice(credentialStart, s1);

    const amzDate = headers['x-amz-date'];
    if (amzDate === undefined) return fail('missing-date', accessKeyId);
    if (typeof amzDate !== 'string') return fail('malformed-date', accessKeyId);
    const requestTime = parseAmzDate(amzDate);
    if (requestTime === undefined) return fail('malformed-date', accessKeyId);

    //= docs/requirements.md#authentication
    //# 81. [MUST] Stale requests are refused: a timestamp more than 5 minutes off, either way, gets 401 (the 5 minutes are a SHOULD).
    if (Math.abs(clock.now() - requestTime) > maxSkewMs) return fail('clock-skew', accessKeyId);

    // The scope date must be the date of X-Amz-Date (its first 8 characters).
    if (s1 + 9 !== s2 || !sameChars(auth, s1 + 1, amzDate, 0, 8)) return fail('scope-date-mismatch', accessKeyId);
    const scopeDate = auth.slice(s1 + 1, s2);

    //= docs/requirements.md#authentication
    //# 82. [MUST] The signing key is derived with service `kms-xks-proxy` and the date and region of the Credential scope.
    if (s4 - s3 - 1 !== service.length || !auth.startsWith(service, s3 + 1)) {
      return fail('wrong-service', accessKeyId);
    }
    if (s3 - s2 - 1 !== expectedRegion.length || !auth.startsWith(expectedRegion, s2 + 1)) {
      return fail('wrong-region', accessKeyId);
    }
    if (credentialEnd - s4 - 1 !== TERMINATOR.length || !auth.startsWith(TERMINATOR, s4 + 1)) {
      return fail('wrong-terminator', accessKeyId);
    }

    // SignedHeaders: lower-case, sorted, unique, containing host and x-amz-date; every one present.
    // KMS signs host;x-amz-date, curl content-type;host;x-amz-date: honour whatever is listed.
    const signedHeaders = auth.slice(signedHeadersStart, signedHeadersEnd);
    const bodyHash = hash('sha256', request.body, 'hex');
    let canonicalHeaders = '';
    let previous = '';
    let sawHost = false;
    let sawDate = false;
    for (let start = 0; start <= signedHeaders.length;) {
      let end = signedHeaders.indexOf(';', start);
      if (end === -1) end = signedHeaders.length;
      if (!isLowerCaseToken(signedHeaders, start, end)) return fail('signed-headers-invalid', accessKeyId);
      const name = signedHeaders.slice(start, end);
      if (name <= previous) return fail('signed-headers-invalid', accessKeyId);
      previous = name;
      let raw: unknown;
      if (name === 'host') {
        sawHost = true;
        raw = headers.host ?? headers[':authority'];
      } else {
        if (name === 'x-amz-date') sawDate = true;
        raw = headers[name];
      }
      const value = canonicalValue(raw);
      if (value === undefined) return fail('signed-header-absent', accessKeyId);
      // Never let a header stand in for the body hash; a signed one must tell the truth.
      if (name === 'x-amz-content-sha256' && value !== bodyHash) return fail('payload-hash-mismatch', accessKeyId);
      canonicalHeaders += `${name}:${value}\n`;
      start = end + 1;
    }
    if (!sawHost || !sawDate) return fail('signed-headers-invalid', accessKeyId);

    //= docs/requirements.md#authentication
    //# 83. [MUST] An access key id selects exactly one secret.
    //= docs/requirements.md#authentication
    //# 86. [SHOULD] Two or more SigV4 credentials are valid at the same time for each path prefix.
    //= docs/requirements.md#authentication
    //# 87. [SHOULD] Credential changes take effect without a restart and without dropping connections.
    // The lookup runs on every request and is scoped to the keystore; the key cache is keyed by the
    // secret, so a removed credential stops verifying at once.
    const secret = lookupSecret(accessKeyId);
    const known = typeof secret === 'string' && secret.length > 0;

    // Canonical URI = the raw path; the XKS APIs have no query string, so CanonicalQueryString is empty.
    const canonicalRequest = `${request.method}\n${request.path || '/'}\n\n${canonicalHeaders}\n${signedHeaders}\n${bodyHash}`;
    const stringToSign = `${ALGORITHM}\n${amzDate}\n${scopeDate}/${expectedRegion}/${service}/${TERMINATOR}\n${hash('sha256', canonicalRequest, 'hex')}`;
    const expected = createHmac('sha256', signingKey(known ? secret : dummySecret, scopeDate, expectedRegion))
      .update(stringToSign)
      .digest();
    const provided = Buffer.from(auth.slice(signatureStart), 'hex');

    //= docs/requirements.md#authentication
    //# 80. [MUST] A wrong access key id and a wrong secret each get 401.
    // An unknown access key id still pays for a signature (with a dummy secret) and the comparison.
    const match = provided.length === 32 && timingSafeEqual(expected, provided);
    if (!known) return fail('unknown-access-key', accessKeyId);
    if (!match) return fail('signature-mismatch', accessKeyId);
    return { ok: true, accessKeyId };
  }

  return { verify };
}

function fail(reason: AuthFailureReason, accessKeyId?: string): VerifyResult {
  return accessKeyId === undefined ? { ok: false, reason } : { ok: false, reason, accessKeyId };
}

function skipOptionalSpace(s: string, pos: number): number {
  return s.charCodeAt(pos) === 0x20 ? pos + 1 : pos;
}

function sameChars(a: string, aFrom: number, b: string, bFrom: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a.charCodeAt(aFrom + i) !== b.charCodeAt(bFrom + i)) return false;
  return true;
}

function isLowerHex(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** 1–128 ASCII letters and digits: wider than KMS's `[A-Z2-7]{20,30}`, narrow enough to log safely. */
function isAccessKeyId(s: string, from: number, to: number): boolean {
  if (to <= from || to - from > MAX_ACCESS_KEY_ID_LENGTH) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) return false;
  }
  return true;
}

/** A non-empty RFC 9110 token with no upper-case letters. */
function isLowerCaseToken(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x30 && c <= 0x39) || // 0-9
      c === 0x2d || // -
      c === 0x5f || // _
      c === 0x2e || // .
      c === 0x21 || // !
      (c >= 0x23 && c <= 0x27) || // # $ % & '
      c === 0x2a || // *
      c === 0x2b || // +
      c === 0x5e || // ^
      c === 0x60 || // `
      c === 0x7c || // |
      c === 0x7e; // ~
    if (!ok) return false;
  }
  return true;
}

const DIGIT_0 = 0x30;

/** `YYYYMMDD'T'HHMMSS'Z'` → epoch ms, or undefined if malformed or not a real UTC time. */
function parseAmzDate(s: string): number | undefined {
  if (s.length !== 16 || s.charCodeAt(8) !== 0x54 /* T */ || s.charCodeAt(15) !== 0x5a /* Z */) return undefined;
  for (let i = 0; i < 15; i++) {
    if (i === 8) continue;
    const c = s.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_0 + 9) return undefined;
  }
  const n = (from: number, len: number): number => {
    let v = 0;
    for (let i = from; i < from + len; i++) v = v * 10 + (s.charCodeAt(i) - DIGIT_0);
    return v;
  };
  const year = n(0, 4);
  const month = n(4, 2);
  const day = n(6, 2);
  const hour = n(9, 2);
  const minute = n(11, 2);
  const second = n(13, 2);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCDate() !== day) return undefined; // e.g. 20240231
  return date.setUTCHours(hour, minute, second, 0);
}

/**
 * SigV4 canonical header value: trimmed, with each run of spaces and tabs (HTTP's OWS) collapsed to one
 * space; repeated headers given as an array are joined with ','. Undefined when the header is absent.
 */
function canonicalValue(raw: unknown): string | undefined {
  if (typeof raw === 'string') return trimAll(raw);
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  let joined = '';
  for (let i = 0; i < raw.length; i++) {
    const item: unknown = raw[i];
    if (typeof item !== 'string') return undefined;
    joined += i === 0 ? trimAll(item) : `,${trimAll(item)}`;
  }
  return joined;
}

const OWS_RUN = /[ \t]+/g;

function trimAll(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  let collapse = false;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x09 || (c === 0x20 && isOws(value.charCodeAt(i + 1)))) {
      collapse = true;
      break;
    }
  }
  const trimmed = start === 0 && end === value.length ? value : value.slice(start, end);
  return collapse ? trimmed.replace(OWS_RUN, ' ') : trimmed;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
