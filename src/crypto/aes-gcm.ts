import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';

export const GCM_TAG_LENGTH = 16;

export interface GcmOutput {
  ciphertext: Buffer;
  tag: Buffer;
}

/** Raised when a GCM tag does not authenticate: wrong key, IV, AAD, ciphertext or tag. */
export class AuthenticationTagMismatchError extends Error {
  constructor() {
    super('AES-GCM authentication failed');
    this.name = 'AuthenticationTagMismatchError';
  }
}

export function aesGcmEncrypt(key: KeyObject | Buffer, iv: Buffer, plaintext: Buffer, aad: Buffer): GcmOutput {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_LENGTH });
  cipher.setAAD(aad);
  const first = cipher.update(plaintext);
  const last = cipher.final();
  return { ciphertext: last.length === 0 ? first : Buffer.concat([first, last]), tag: cipher.getAuthTag() };
}

export function aesGcmDecrypt(key: KeyObject | Buffer, iv: Buffer, ciphertext: Buffer, aad: Buffer, tag: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const first = decipher.update(ciphertext);
  try {
    const last = decipher.final();
    return last.length === 0 ? first : Buffer.concat([first, last]);
  } catch {
    first.fill(0);
    throw new AuthenticationTagMismatchError();
  }
}
