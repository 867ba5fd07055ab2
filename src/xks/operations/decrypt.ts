import { AuthenticationTagMismatchError } from '../../crypto/aes-gcm.js';
import type { LiveKey } from '../../registry/live-state.js';
import { buildEkmAad } from '../aad.js';
import { decodeCiphertextMetadata } from '../ciphertext-metadata.js';
import { XksError } from '../errors.js';
import { requireKeyEnabled, requireUsage } from '../key-checks.js';
import type { DecryptRequest } from '../requests.js';

const INVALID_CIPHERTEXT_MESSAGE =
  'The ciphertext, initialization vector, additional authenticated data, metadata or tag is corrupted, missing, or otherwise invalid';

/**
 * Decrypt with the key version named in `ciphertextMetadata`: no trial decryption.
 *
 *= xks-spec.md#14.6
 *# 54. [MUST] Detect modification of `ciphertextMetadata` relative to Encrypt → `InvalidCiphertextException`.
 *# 57. [MUST] The 200 response contains `plaintext`, whose decoded length equals the ciphertext length.
 *# 59. [SPEC table] A tampered ciphertext, IV, AAD or tag → 400 `InvalidCiphertextException`.
 */
export async function decrypt(key: LiveKey, request: DecryptRequest): Promise<{ plaintext: Buffer; version: number }> {
  requireKeyEnabled(key);
  requireUsage(key, 'DECRYPT');

  const metadata = decodeCiphertextMetadata(request.ciphertextMetadata);
  // Metadata Keyhold never wrote (another format, a version the key never had) is a corrupted ciphertext.
  if (!metadata || metadata.version > key.record.currentVersion)
    throw new XksError('InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);
  // A version the key had but that may no longer decrypt (revoked, destroyed, below the minimum decryption
  // version) is a key-state refusal, decided by the operator and reversible for the minimum: InvalidStateException.
  // Versions are numbered 1..current without gaps, so a missing one was revoked or destroyed.
  const dataKey = key.versions.get(metadata.version);
  if (metadata.version < key.record.minDecryptVersion) {
    throw new XksError(
      'InvalidStateException',
      'The key version of this ciphertext is no longer allowed to decrypt in the external key manager',
      `version ${metadata.version} below minimum ${key.record.minDecryptVersion}`,
    );
  }
  if (!dataKey) {
    throw new XksError(
      'InvalidStateException',
      'The key version of this ciphertext is revoked in the external key manager',
      `version ${metadata.version} revoked or destroyed`,
    );
  }

  const ekmAad = buildEkmAad(request.aad, request.ciphertextMetadata);
  try {
    const plaintext = await dataKey.decrypt(request.iv, request.ciphertext, ekmAad, request.tag);
    return { plaintext, version: metadata.version };
  } catch (error) {
    if (error instanceof AuthenticationTagMismatchError) {
      throw new XksError('InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);
    }
    throw error;
  }
}
