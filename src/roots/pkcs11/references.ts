import { randomBytes } from 'node:crypto';
import type { KeyObjectName } from './protocol.js';

/**
 * What Keyhold stores for a PKCS#11-rooted key:
 * - keys mode, a handle: 0x11 ‖ 16-byte CKA_ID. No material; the key lives only on the token.
 * - wrap mode, sealed material: 0x12 ‖ IV(12) ‖ tag(16) ‖ AES-GCM(master key on the token, 32 bytes).
 * Secrets sealed under the token's master key: 0x13 ‖ IV(12) ‖ tag(16) ‖ ciphertext.
 */
export const HANDLE_FORMAT = 0x11;
export const WRAPPED_FORMAT = 0x12;
export const SEALED_SECRET_FORMAT = 0x13;
export const OBJECT_ID_LENGTH = 16;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;

export function newObjectId(): Buffer {
  return randomBytes(OBJECT_ID_LENGTH);
}

export function handleReference(id: Buffer): Buffer {
  return Buffer.concat([Buffer.of(HANDLE_FORMAT), id]);
}

export function objectIdOf(reference: Buffer, context: string): Buffer {
  if (reference.length !== 1 + OBJECT_ID_LENGTH || reference[0] !== HANDLE_FORMAT) {
    throw new Error(`key reference for ${context} is not a PKCS#11 key handle`);
  }
  return reference.subarray(1);
}

/** The CKA_LABEL binds the object to the record it was created for. */
export function keyObjectName(id: Uint8Array, context: string): KeyObjectName {
  // Its own 16-byte buffer: the id travels with every call to a worker thread.
  return { id: new Uint8Array(id), label: `keyhold:${context}` };
}

export function sealedBlob(format: number, iv: Buffer, tag: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.concat([Buffer.of(format), iv, tag, ciphertext]);
}

export function openSealedBlob(format: number, blob: Buffer, context: string): { iv: Buffer; tag: Buffer; ciphertext: Buffer } {
  if (blob.length < 1 + IV_LENGTH + TAG_LENGTH || blob[0] !== format) {
    throw new Error(`sealed record for ${context} has an unknown format`);
  }
  return {
    iv: blob.subarray(1, 1 + IV_LENGTH),
    tag: blob.subarray(1 + IV_LENGTH, 1 + IV_LENGTH + TAG_LENGTH),
    ciphertext: blob.subarray(1 + IV_LENGTH + TAG_LENGTH),
  };
}

/** The master key's CKA_ID for a data directory, as kept in root.json. */
export function masterKeyName(masterKeyId: string): KeyObjectName {
  return { id: new Uint8Array(Buffer.from(masterKeyId, 'hex')), label: `keyhold:master:${masterKeyId}` };
}
