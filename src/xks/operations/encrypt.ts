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
 *= xks-spec.md#14.5
 *# 39. [MUST] The response includes `ciphertext`, `initializationVector` and `authenticationTag`.
 *# 40. [MUST] Decoded ciphertext length equals decoded plaintext length.
 *# 41. [MAY] Return `ciphertextMetadata`.
 *# 46. [MUST] The IV is 12 or 16 bytes.
 *# 47. [MUST] The tag is exactly 16 bytes.
 */
export async function encrypt(key: LiveKey, version: number, request: EncryptRequest): Promise<EncryptResponse> {
  const dataKey = key.versions.get(version);
  if (!dataKey) throw new XksError('InternalException', undefined, `key ${key.record.id} has no version ${version} loaded`);

  const ciphertextMetadata = encodeCiphertextMetadata(version);
  const iv = randomIv(IV_LENGTH);
  const ekmAad = buildEkmAad(request.aad, ciphertextMetadata);
  const { ciphertext, tag } = await dataKey.encrypt(iv, request.plaintext, ekmAad);
  //= xks-spec.md#14.5
  //# 48. [MUST] Split ciphertext and tag when the EKM returns them joined; check the response lengths.
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
    /*= xks-spec.md#14.5
     *# 38. [MUST] When `ciphertextDataIntegrityValueAlgorithm` is present, the response includes `ciphertextDataIntegrityValue`.
     *# 50. [rec, Appendix C] Compute the CDIV before the verification decrypt; on verification failure return an error. */
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
