import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { aesGcmDecrypt, aesGcmEncrypt, GCM_TAG_LENGTH } from '../crypto/aes-gcm.js';
import type { DataKey, EkmHealth, RootOfTrust } from './root-of-trust.js';

const SEALED_FORMAT = 0x01;
const IV_LENGTH = 12;
const AES_256_KEY_LENGTH = 32;

/**
 * Software root of trust: key material and secrets are sealed with AES-256-GCM under a master key,
 * with the record identity as AAD. Material is unsealed into memory only to serve the data plane.
 */
export function createSoftwareRoot(masterKey: Buffer): RootOfTrust {
  const master = createSecretKey(masterKey);

  function seal(plaintext: Buffer, context: string): Buffer {
    const iv = randomBytes(IV_LENGTH);
    const { ciphertext, tag } = aesGcmEncrypt(master, iv, plaintext, aadFor(context));
    return Buffer.concat([Buffer.of(SEALED_FORMAT), iv, tag, ciphertext]);
  }

  function unseal(sealed: Buffer, context: string): Buffer {
    if (sealed.length < 1 + IV_LENGTH + GCM_TAG_LENGTH || sealed[0] !== SEALED_FORMAT) {
      throw new Error(`sealed record for ${context} has an unknown format`);
    }
    const iv = sealed.subarray(1, 1 + IV_LENGTH);
    const tag = sealed.subarray(1 + IV_LENGTH, 1 + IV_LENGTH + GCM_TAG_LENGTH);
    const ciphertext = sealed.subarray(1 + IV_LENGTH + GCM_TAG_LENGTH);
    return aesGcmDecrypt(master, iv, ciphertext, aadFor(context), tag);
  }

  return {
    kind: 'software',
    model: `Keyhold software root of trust (AES-256-GCM, OpenSSL ${process.versions.openssl})`,
    createKeyMaterial: (context) =>
      settled(() => {
        const material = randomBytes(AES_256_KEY_LENGTH);
        try {
          return seal(material, context);
        } finally {
          material.fill(0);
        }
      }),
    importKeyMaterial: (material, context) =>
      settled(() => {
        if (material.length !== AES_256_KEY_LENGTH) throw new Error('imported key material must be 256 bits');
        return seal(material, context);
      }),
    openKey: (reference, context) =>
      settled(() => {
        const material = unseal(reference, context);
        try {
          return softwareDataKey(createSecretKey(material));
        } finally {
          material.fill(0);
        }
      }),
    // Sealed material lives only in the stored row; deleting the row erases it.
    destroyKeyMaterial: () => Promise.resolve(),
    sealSecret: (secret, context) => settled(() => seal(secret, context)),
    unsealSecret: (sealed, context) => settled(() => unseal(sealed, context)),
    state: (): EkmHealth => 'ACTIVE',
    close: () => Promise.resolve(),
  };
}

/**
 * Runs synchronous work behind a promise-returning port, as an async function would: its result
 * resolves, its exception rejects (a caller awaiting it never sees a synchronous throw).
 */
function settled<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** The AAD a sealed record is bound to (its identity); the same for every root that seals with AES-GCM. */
export function aadFor(context: string): Buffer {
  return Buffer.from(`keyhold:sealed:v1:${context}`, 'utf8');
}

/** A DataKey over key material held in memory (the software root, and the PKCS#11 root in wrap mode). */
export function softwareDataKey(key: KeyObject): DataKey {
  return {
    encrypt: (iv, plaintext, aad) => settled(() => aesGcmEncrypt(key, iv, plaintext, aad)),
    decrypt: (iv, ciphertext, aad, tag) => settled(() => aesGcmDecrypt(key, iv, ciphertext, aad, tag)),
  };
}
