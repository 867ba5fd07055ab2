/**
 * Strict standard Base64 (RFC 4648 §4, padded), as KMS expects from a proxy.
 * `Buffer.from(s, 'base64')` alone is lenient (it skips junk, accepts URL-safe
 * characters and missing padding), so every value is shape-checked and round-tripped.
 */
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes `value` if it is strict standard Base64; returns undefined otherwise. */
export function decodeStrictBase64(value: string): Buffer | undefined {
  if (!STANDARD_BASE64.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64');
  return decoded.toString('base64') === value ? decoded : undefined;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
