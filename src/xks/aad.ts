import { createHash } from 'node:crypto';

/**
 * The AAD that AES-GCM actually authenticates, binding `ciphertextMetadata` to the ciphertext.
 *
 *= docs/requirements.md#encrypt
 *# 35. [MUST] `additionalAuthenticatedData`, when sent, is Base64 and authenticated by GCM: Decrypt with other or no AAD fails.
 *# 43. [MUST] `ciphertextMetadata` is bound into the GCM AAD; Decrypt with altered metadata gives `InvalidCiphertextException`.
 *# 44. [MUST] The AAD given to GCM is `u16be(len AAD)‖AAD‖u8(len CM)‖CM`, length 0 for an absent field, so AAD and CM cannot swap.
 */
export function buildEkmAad(aad: Buffer | undefined, ciphertextMetadata: Buffer | undefined): Buffer {
  const aadLength = aad?.length ?? 0;
  const metadataLength = ciphertextMetadata?.length ?? 0;
  if (aadLength > 0xffff) throw new RangeError('AAD longer than 65535 bytes cannot be length-prefixed');
  if (metadataLength > 0xff) throw new RangeError('ciphertextMetadata longer than 255 bytes');
  const out = Buffer.allocUnsafe(2 + aadLength + 1 + metadataLength);
  out.writeUInt16BE(aadLength, 0);
  if (aad) aad.copy(out, 2);
  out.writeUInt8(metadataLength, 2 + aadLength);
  if (ciphertextMetadata) ciphertextMetadata.copy(out, 3 + aadLength);
  return out;
}

/**
 * The Ciphertext Data Integrity Value.
 *
 *= docs/requirements.md#encrypt
 *# 49. [MUST] The CDIV is `Base64(SHA-256(AAD‖CM‖IV‖ciphertext‖tag))` of the decoded values, an absent AAD or CM being empty.
 */
export function computeCdiv(parts: { aad?: Buffer; ciphertextMetadata?: Buffer; iv: Buffer; ciphertext: Buffer; tag: Buffer }): string {
  const hash = createHash('sha256');
  if (parts.aad) hash.update(parts.aad);
  if (parts.ciphertextMetadata) hash.update(parts.ciphertextMetadata);
  return hash.update(parts.iv).update(parts.ciphertext).update(parts.tag).digest('base64');
}
