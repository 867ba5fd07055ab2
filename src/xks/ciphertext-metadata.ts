/**
 * Keyhold's `ciphertextMetadata`: one format byte, then the key version as a big-endian uint32.
 * It is returned by Encrypt, bound into the AAD (see aad.ts), and read back on Decrypt so the
 * right key version is used without trial decryption.
 *
 *= docs/requirements.md#encrypt
 *# 42. [MUST NOT] A returned `ciphertextMetadata` exceeds 20 bytes once decoded; it is always Base64.
 *# 45. [SHOULD] A change in how the AAD is built is recorded in `ciphertextMetadata`, and Decrypt rebuilds the AAD the old way.
 */
export const METADATA_FORMAT_V1 = 0x01; // length-prefixed EKM AAD (docs/requirements.md#aad), AES-256-GCM, 12-byte IV
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
