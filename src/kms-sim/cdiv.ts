/**
 * The Ciphertext Data Integrity Value (docs/requirements.md#cdiv):
 * SHA-256(AAD ‖ ciphertextMetadata ‖ IV ‖ ciphertext ‖ tag) over decoded bytes, no length prefixes;
 * an absent AAD or metadata contributes nothing.
 */
import { createHash } from 'node:crypto';

export interface CdivInputs {
  aad?: Buffer;
  metadata?: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export function computeCdiv({ aad, metadata, iv, ciphertext, tag }: CdivInputs): Buffer {
  return createHash('sha256')
    .update(aad ?? Buffer.alloc(0))
    .update(metadata ?? Buffer.alloc(0))
    .update(iv)
    .update(ciphertext)
    .update(tag)
    .digest();
}
