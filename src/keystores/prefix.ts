import { invalid } from '../core/errors.js';

export const XKS_API_PATH = '/kms/xks/v1';
const MAX_PREFIX_LENGTH = 64;
// The admin side's paths (src/server/https-front.ts isAdminPath): a keystore there would never be reached.
const RESERVED_PREFIXES = ['/api', '/ping', '/metrics', '/healthz', '/readyz', '/console'];

/**
 * Normalizes an operator-given prefix: `/a/b`, `/a/b/`, `/a/b/kms/xks/v1` all mean `/a/b`; `/` means none.
 *
 *= docs/requirements.md#transport
 *# 13. [MUST NOT] A full API URI is longer than 256 characters; the configured prefix length is checked against that.
 *# 14. [MUST NOT] `XksProxyUriPath` is longer than 128 characters or uses characters other than `a-z A-Z 0-9 / - _`.
 */
export function normalizePrefix(input: string): string {
  let prefix = input.trim().replace(/\/+$/, '');
  if (prefix.endsWith(XKS_API_PATH)) prefix = prefix.slice(0, -XKS_API_PATH.length);
  if (prefix === '') return '';
  if (!/^(\/[A-Za-z0-9_-]+)+$/.test(prefix)) {
    throw invalid('prefix must look like /segment[/segment...] using only A-Z a-z 0-9 _ -');
  }
  if (prefix.length > MAX_PREFIX_LENGTH) {
    throw invalid(`prefix is ${prefix.length} characters; at most ${MAX_PREFIX_LENGTH} keep every XKS URI within 256 characters`);
  }
  const [first = ''] = prefix.slice(1).split('/');
  if (RESERVED_PREFIXES.includes(`/${first.toLowerCase()}`) || `${prefix}/`.includes('/kms/xks/')) {
    throw invalid(`prefix ${prefix} is reserved; choose another first segment`);
  }
  return prefix;
}

/** The value to configure in AWS as `XksProxyUriPath`. */
export function uriPathFor(prefix: string): string {
  return `${prefix}${XKS_API_PATH}`;
}
