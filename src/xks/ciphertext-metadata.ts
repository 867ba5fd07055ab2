/**
 * Keyhold's `ciphertextMetadata`: one format byte, then the key version as a big-endian uint32.
 * It is returned by Encrypt, bound into the AAD (see aad.ts), and read back on Decrypt so the
 * right key version is used without trial decryption.
 *
 *= xks-spec.md#14.5
 *# 42. [MUST NOT] Let returned `ciphertextMetadata` exceed 20 decoded bytes; it must be Base64.
 *# 45. [SHOULD] Record a change of AAD-construction scheme in `ciphertextMetadata` and honour it on decrypt.
 */
export const METADATA_FORMAT_V1 = 0x01; // length-prefixed EKM AAD (xks-spec.md §7.3), AES-256-GCM, 12-byte IV
const ENCODED_LENGTH = 5;

export function encodeCiphertextMetadata(version: number): Buffer {
  const out = Buffer.allocUnsafe(ENCODED_LENGTH);
  out.writeUInt8(METADATA_FORMAT_V1, 0);
  out.writeUInt32BE(version, 1);
  return out;
}

/** Returns the key version, or undefined when the metadata is not one Keyhold produced. */
export function decodeCiphertextMetadata(metadata: Buffer | undefined): { version: number } | undefined {
  if (!metadata || metadata.length !== ENCODED_LENGTH || metadata[0] !== METADATA_FORMAT_V1) return undefined;
  const version = metadata.readUInt32BE(1);
  return version >= 1 ? { version } : undefined;
}
