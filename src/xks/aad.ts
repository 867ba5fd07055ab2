import { createHash } from 'node:crypto';

/**
 * The AAD that AES-GCM actually authenticates, binding `ciphertextMetadata` to the ciphertext.
 *
 *= xks-spec.md#14.5
 *# 35. [MUST] When present, `additionalAuthenticatedData` is Base64 and is authenticated by GCM.
 *# 43. [MUST] Bind `ciphertextMetadata` into the GCM AAD; decrypting with altered metadata → `InvalidCiphertextException`.
 *# 44. [MUST] Build the EKM AAD as `u16be(len AAD)‖AAD‖u8(len CM)‖CM`, with zero lengths for absent fields.
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
 *= xks-spec.md#14.5
 *# 49. [MUST] The CDIV uses the requested algorithm and equals `b64(SHA-256(AAD‖CM‖IV‖CT‖tag))`,
 *#     with empty strings for absent AAD or CM.
 */
export function computeCdiv(parts: { aad?: Buffer; ciphertextMetadata?: Buffer; iv: Buffer; ciphertext: Buffer; tag: Buffer }): string {
  const hash = createHash('sha256');
  if (parts.aad) hash.update(parts.aad);
  if (parts.ciphertextMetadata) hash.update(parts.ciphertextMetadata);
  return hash.update(parts.iv).update(parts.ciphertext).update(parts.tag).digest('base64');
}
