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
  const dataKey = metadata && key.versions.get(metadata.version);
  if (!metadata || !dataKey) throw new XksError('InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);

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
