import { AuthenticationTagMismatchError } from '../../crypto/aes-gcm.js';
import type { LiveKey } from '../../registry/live-state.js';
import { buildEkmAad } from '../aad.js';
import { decodeCiphertextMetadata } from '../ciphertext-metadata.js';
import { XksError } from '../errors.js';
import type { DecryptRequest } from '../requests.js';

export interface DecryptResponse {
  plaintext: string;
}

const INVALID_CIPHERTEXT_MESSAGE =
  'The ciphertext, initialization vector, additional authenticated data, metadata or tag is corrupted, missing, or otherwise invalid';

/**
 * The key version a ciphertext was made with, read from its `ciphertextMetadata`: no trial decryption.
 * Metadata Keyhold never wrote is a corrupted ciphertext; a version that may no longer decrypt is a
 * key-state refusal (InvalidStateException), decided by the operator.
 *
 *= docs/requirements.md#decrypt
 *# 54. [MUST] A change to `ciphertextMetadata` since Encrypt is detected and answered `InvalidCiphertextException`.
 */
export function versionToDecrypt(key: LiveKey, ciphertextMetadata: Buffer | undefined): number {
  const metadata = decodeCiphertextMetadata(ciphertextMetadata);
  // Metadata Keyhold never wrote (another format, a version the key never had) is a corrupted ciphertext.
  if (!metadata || metadata.version > key.record.currentVersion) {
    throw new XksError('InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);
  }
  // A version the key had but that may no longer decrypt (revoked, destroyed, below the minimum decryption
  // version) is a key-state refusal, decided by the operator and reversible for the minimum: InvalidStateException.
  // Versions are numbered 1..current without gaps, so a missing one was revoked or destroyed.
  if (metadata.version < key.record.minDecryptVersion) {
    throw new XksError(
      'InvalidStateException',
      'The key version of this ciphertext is no longer allowed to decrypt in the external key manager',
      `version ${metadata.version} below minimum ${key.record.minDecryptVersion}`,
    );
  }
  if (!key.versions.has(metadata.version)) {
    throw new XksError(
      'InvalidStateException',
      'The key version of this ciphertext is revoked in the external key manager',
      `version ${metadata.version} revoked or destroyed`,
    );
  }
  return metadata.version;
}

/**
 * Stage "crypto" of Decrypt, under the version `versionToDecrypt` chose. The plaintext buffer is zeroed
 * once it is encoded into the response.
 *
 *= docs/requirements.md#decrypt
 *# 57. [MUST] A 200 answer carries `plaintext`, as long (decoded) as the ciphertext.
 *# 59. [SPEC] An altered ciphertext, IV, AAD or tag is answered 400 `InvalidCiphertextException`.
 */
export async function decrypt(key: LiveKey, version: number, request: DecryptRequest): Promise<DecryptResponse> {
  const dataKey = key.versions.get(version);
  if (!dataKey) throw new XksError('InternalException', undefined, `key ${key.record.id} has no version ${version} loaded`);
  const ekmAad = buildEkmAad(request.aad, request.ciphertextMetadata);
  let plaintext: Buffer;
  try {
    plaintext = await dataKey.decrypt(request.iv, request.ciphertext, ekmAad, request.tag);
  } catch (error) {
    if (error instanceof AuthenticationTagMismatchError) {
      throw new XksError('InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);
    }
    throw error;
  }
  const response: DecryptResponse = { plaintext: plaintext.toString('base64') };
  plaintext.fill(0);
  return response;
}
