import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateAdminToken(): string {
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
