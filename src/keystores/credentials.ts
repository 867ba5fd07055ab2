import { randomBytes } from 'node:crypto';
import { invalid } from '../core/errors.js';

/**
 *= docs/requirements.md#authentication
 *# 84. [MUST NOT] An access key id reveals anything about its secret; Keyhold checks ids (20–30 `A-Z2-7`) and secrets (43–64 characters).
 */
const ACCESS_KEY_ID = /^[A-Z2-7]{20,30}$/;
const SECRET = /^[A-Za-z0-9/+=]{43,64}$/;
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function validateAccessKeyId(accessKeyId: string): void {
  if (!ACCESS_KEY_ID.test(accessKeyId)) {
    throw invalid('access key id must be 20-30 characters of A-Z and 2-7');
  }
}

export function validateSecret(secret: string): void {
  if (!SECRET.test(secret)) {
    throw invalid('secret must be 43-64 characters of A-Z, a-z, 0-9, /, + and =');
  }
}

/** A random access key id: 24 Base32 characters (120 random bits), independent of the secret. */
export function generateAccessKeyId(): string {
  const bytes = randomBytes(15);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/**
 *= docs/requirements.md#authentication
 *# 85. [SHOULD] Secrets carry at least 256 bits of entropy.
 */
export function generateSecret(): string {
  return randomBytes(32).toString('base64');
}
