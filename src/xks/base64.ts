/**
 * Strict standard Base64 (RFC 4648 §4, padded). Node's Buffer.from(s, 'base64') silently accepts
 * URL-safe characters, junk and missing padding, so validate before decoding (docs/requirements.md#base64).
 */
const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function isStrictBase64(text: string): boolean {
  if (text.length % 4 !== 0 || !STRICT_BASE64.test(text)) return false;
  // '=' only as the final one or two characters, and a padded quantum must end in a valid symbol.
  const firstPad = text.indexOf('=');
  if (firstPad === -1) return true;
  if (firstPad < text.length - 2) return false;
  // Reject non-canonical padding bits so every value has exactly one encoding.
  return Buffer.from(text, 'base64').toString('base64') === text;
}

/** Decoded byte length of a strict Base64 string, without decoding it. */
export function decodedLength(text: string): number {
  if (text.length === 0) return 0;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}
