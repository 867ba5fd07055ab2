import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API tokens: `kh_` and 32 random bytes (base64url). Only their SHA-256 is stored; a presented token is
 * hashed and looked up, or compared in constant time with the bootstrap token's hash.
 */

/** How long a token from `POST /auth/login` lives. */
export const LOGIN_TOKEN_TTL_MS = 12 * 60 * 60 * 1000;
/** The longest lifetime a created token may have (a year); tokens always expire. */
export const MAX_TOKEN_TTL_MS = 366 * 24 * 60 * 60 * 1000;

/** A fresh token (API tokens and the bootstrap token from `init` alike). Shown once, never stored. */
export function generateApiToken(): string {
  return `kh_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Checks a presented token against stored hashes in constant time per comparison. */
export function matchesAnyToken(presented: string, hashes: readonly Buffer[]): boolean {
  const candidate = hashToken(presented);
  let matched = false;
  for (const hash of hashes) matched = timingSafeEqual(candidate, hash) || matched;
  return matched;
}
