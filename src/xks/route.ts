import { XksError } from './errors.js';

export type XksOperation = 'GetHealthStatus' | 'GetKeyMetadata' | 'Encrypt' | 'Decrypt';

export interface XksRoute {
  /** The keystore prefix: everything before `/kms/xks/v1` ('' when none). */
  prefix: string;
  operation: XksOperation;
  /** The external key id for key operations. */
  keyId?: string;
}

const MAX_URL_LENGTH = 512;
const XKS_PATH = /^((?:\/[A-Za-z0-9_-]+)*)\/kms\/xks\/v1\/(?:health|keys\/([A-Za-z0-9._-]{1,128})\/(metadata|encrypt|decrypt))$/;
const OPERATION_BY_SUFFIX = { metadata: 'GetKeyMetadata', encrypt: 'Encrypt', decrypt: 'Decrypt' } as const;

/**
 * Parses an XKS URI on the raw path, without normalizing it, so `//`, `.`, `..`, `%` or a query string
 * can never make two paths mean one thing (kms-behaviour.md §3.2 step 7).
 *
 *= xks-spec.md#14.8
 *# 75. [SPEC] unknown prefix or path → 404 `InvalidUriPathException`.
 */
export function parseXksPath(url: string | undefined): XksRoute {
  if (!url || url.length > MAX_URL_LENGTH) throw invalidPath();
  const match = XKS_PATH.exec(url);
  if (!match) throw invalidPath();
  const [, prefix = '', keyId, suffix] = match;
  if (suffix === undefined) return { prefix, operation: 'GetHealthStatus' };
  return { prefix, operation: OPERATION_BY_SUFFIX[suffix as keyof typeof OPERATION_BY_SUFFIX], keyId };
}

export function invalidPath(): XksError {
  return new XksError('InvalidUriPathException', 'The URI path is not a valid XKS API path for this proxy');
}
