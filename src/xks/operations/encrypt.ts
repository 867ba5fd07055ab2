import { AuthenticationTagMismatchError } from '../../crypto/aes-gcm.js';
import { createRandomPool } from '../../crypto/random-pool.js';
import type { LiveKey } from '../../registry/live-state.js';
import { buildEkmAad, computeCdiv } from '../aad.js';
import { encodeCiphertextMetadata } from '../ciphertext-metadata.js';
import { XksError } from '../errors.js';
import type { EncryptRequest } from '../requests.js';

export interface EncryptResponse {
  ciphertext: string;
  ciphertextMetadata: string;
  initializationVector: string;
  authenticationTag: string;
  ciphertextDataIntegrityValue?: string;
}

const IV_LENGTH = 12;
const randomIv = createRandomPool();

/**
 * Stage "crypto" of Encrypt, under `version` (the key's current version when the request was checked).
 *
 *= docs/requirements.md#encrypt
 *# 39. [MUST] The answer carries `ciphertext`, `initializationVector` and `authenticationTag`.
 *# 40. [MUST] The ciphertext, decoded, is exactly as long as the plaintext.
 *# 41. [MAY] The answer carries a `ciphertextMetadata`.
 *# 46. [MUST] The returned IV is 12 or 16 bytes.
 *# 47. [MUST] The returned authentication tag is exactly 16 bytes.
 */
export async function encrypt(key: LiveKey, version: number, request: EncryptRequest): Promise<EncryptResponse> {
  const dataKey = key.versions.get(version);
  if (!dataKey) throw new XksError('InternalException', undefined, `key ${key.record.id} has no version ${version} loaded`);

  const ciphertextMetadata = encodeCiphertextMetadata(version);
  const iv = randomIv(IV_LENGTH);
  const ekmAad = buildEkmAad(request.aad, ciphertextMetadata);
  const { ciphertext, tag } = await dataKey.encrypt(iv, request.plaintext, ekmAad);
  //= docs/requirements.md#encrypt
  //# 48. [MUST] When the key manager returns ciphertext and tag joined, the proxy splits them; the answer's lengths are checked.
  if (ciphertext.length !== request.plaintext.length || tag.length !== 16) {
    throw new XksError('InternalException', undefined, 'key manager returned malformed ciphertext or tag');
  }

  const response: EncryptResponse = {
    ciphertext: ciphertext.toString('base64'),
    ciphertextMetadata: ciphertextMetadata.toString('base64'),
    initializationVector: iv.toString('base64'),
    authenticationTag: tag.toString('base64'),
  };
  if (request.cdivRequested) {
    /*= docs/requirements.md#encrypt
     *# 38. [MUST] When the request names a `ciphertextDataIntegrityValueAlgorithm`, the answer has a `ciphertextDataIntegrityValue`.
     *# 50. [REC] The CDIV is computed before a verification Decrypt; if that Decrypt fails, the proxy answers an error or retries. */
    response.ciphertextDataIntegrityValue = computeCdiv({ aad: request.aad, ciphertextMetadata, iv, ciphertext, tag });
    // Only a tag that does not verify counts as a failed round trip; a root that times out or fails is
    // reported as such (503 DependencyTimeoutException, 500 InternalException) by the handler.
    const roundTrip = await dataKey.decrypt(iv, ciphertext, ekmAad, tag).catch((error: unknown) => {
      if (error instanceof AuthenticationTagMismatchError) return undefined;
      throw error;
    });
    if (!roundTrip?.equals(request.plaintext)) {
      throw new XksError('InternalException', 'The encryption could not be verified', 'CDIV verification decrypt failed');
    }
    roundTrip.fill(0);
  }
  return response;
}
