import { XksError } from './errors.js';

export type XksOperation = 'GetHealthStatus' | 'GetKeyMetadata' | 'Encrypt' | 'Decrypt';

/** The operations addressed to one external key (everything but GetHealthStatus). */
export type KeyOperation = Exclude<XksOperation, 'GetHealthStatus'>;

/** `<prefix>/kms/xks/v1/health`. */
export interface HealthRoute {
  /** The keystore prefix: everything before `/kms/xks/v1` ('' when none). */
  prefix: string;
  operation: 'GetHealthStatus';
}

/** `<prefix>/kms/xks/v1/keys/<keyId>/(metadata|encrypt|decrypt)`. */
export interface KeyRoute {
  /** The keystore prefix: everything before `/kms/xks/v1` ('' when none). */
  prefix: string;
  operation: KeyOperation;
  /** The external key id, as it appears in the path (`[A-Za-z0-9._-]{1,128}`). */
  keyId: string;
}

/** What an XKS URI path names: a key operation carries its key id, GetHealthStatus none. */
export type XksRoute = HealthRoute | KeyRoute;

const MAX_URL_LENGTH = 512;
const XKS_PATH = /^((?:\/[A-Za-z0-9_-]+)*)\/kms\/xks\/v1\/(?:health|keys\/([A-Za-z0-9._-]{1,128})\/(metadata|encrypt|decrypt))$/;

function keyOperationOf(suffix: string): KeyOperation | undefined {
  switch (suffix) {
    case 'metadata':
      return 'GetKeyMetadata';
    case 'encrypt':
      return 'Encrypt';
    case 'decrypt':
      return 'Decrypt';
    default:
      return undefined;
  }
}

/**
 * Stage "route" (its path half): parses an XKS URI on the raw path, without normalizing it, so `//`,
 * `.`, `..`, `%` or a query string can never make two paths mean one thing (docs/kms-client.md#sigv4-verification step 7).
 *
 *= docs/requirements.md#errors
 *# 75. [SPEC] An unknown key is answered 404 `KeyNotFoundException`; an unknown prefix or path 404 `InvalidUriPathException`.
 */
export function parseXksPath(url: string | undefined): XksRoute {
  if (!url || url.length > MAX_URL_LENGTH) throw invalidPath();
  const match = XKS_PATH.exec(url);
  if (!match) throw invalidPath();
  const [, prefix = '', keyId, suffix] = match;
  if (suffix === undefined) return { prefix, operation: 'GetHealthStatus' };
  const operation = keyOperationOf(suffix);
  // The pattern captures a key id whenever it captures a suffix; the check makes that a type.
  if (operation === undefined || keyId === undefined) throw invalidPath();
  return { prefix, operation, keyId };
}

export function invalidPath(): XksError {
  return new XksError('InvalidUriPathException', 'The URI path is not a valid XKS API path for this proxy');
}
