import { constants, createPrivateKey, generateKeyPair, privateDecrypt } from 'node:crypto';
import { promisify } from 'node:util';
import type { Clock } from '../core/clock.js';
import { invalid, notFound } from '../core/errors.js';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import type { KeyStore, StoredWrappingKey } from './key-store.js';

/**
 * Bring your own key: RSA-OAEP-SHA256 wrapping keys for importing 256-bit AES material
 * (docs/rotation.md). The operator gets a public key, wraps a key with
 * `openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256`, and uploads it.
 * The private key is stored sealed under the root of trust (never in the clear), so any node of a fleet,
 * and a restarted node, can unwrap; a wrapping key expires after 24 h and unwraps one import only.
 */
export const WRAPPING_KEY_BITS = 3072;
export const WRAPPING_KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;
export const WRAPPING_ALGORITHM = 'RSAES_OAEP_SHA_256';
const AES_256_KEY_BYTES = 32;

export interface WrappingKeyView {
  wrappingKeyId: string;
  algorithm: typeof WRAPPING_ALGORITHM;
  publicKeyPem: string;
  expiresAt: string;
}

/** RSA wrapping keys for bring-your-own-key: created on request, each unwrapping one import. */
export interface ImportWrappingKeys {
  /** A fresh RSA-3072 key pair; the public half is returned, the private half is stored sealed. */
  create(): Promise<WrappingKeyView>;
  /**
   * Unwraps base64 RSA-OAEP-SHA256 ciphertext into the 32-byte key it must hold. Checks only; `consume`
   * marks the wrapping key used once the import is sure to go ahead. The caller zeroes the result.
   */
  unwrap(id: string, wrappedBase64: string): Promise<Buffer>;
  /** Marks the wrapping key used; refuses (one line) when another import used it first. */
  consume(id: string): Promise<void>;
}

const sealContextFor = (id: string) => `import-wrapping-key:${id}`;
const generateRsa = promisify(generateKeyPair);

export function createImportWrappingKeys({
  keyStore,
  root,
  clock,
  newId,
}: {
  keyStore: KeyStore;
  root: RootOfTrust;
  clock: Clock;
  newId: () => string;
}): ImportWrappingKeys {
  async function usable(id: string): Promise<StoredWrappingKey> {
    const key = await keyStore.getWrappingKey(id);
    if (!key) throw notFound(`no import wrapping key "${id}"; ask for one with: keyhold key import-wrapping-key`);
    if (key.usedAt !== undefined) throw invalid(`import wrapping key "${id}" was already used; ask for a new one`);
    if (clock.now() >= key.expiresAt) {
      throw invalid(`import wrapping key "${id}" expired at ${new Date(key.expiresAt).toISOString()}; ask for a new one`);
    }
    return key;
  }

  return {
    async create() {
      const { publicKey, privateKey } = await generateRsa('rsa', {
        modulusLength: WRAPPING_KEY_BITS,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'der' },
      });
      const id = newId();
      const now = clock.now();
      try {
        await keyStore.createWrappingKey({
          id,
          publicKeyPem: publicKey,
          sealedPrivateKey: await root.sealSecret(privateKey, sealContextFor(id)),
          createdAt: now,
          expiresAt: now + WRAPPING_KEY_LIFETIME_MS,
        });
      } finally {
        privateKey.fill(0);
      }
      return {
        wrappingKeyId: id,
        algorithm: WRAPPING_ALGORITHM,
        publicKeyPem: publicKey,
        expiresAt: new Date(now + WRAPPING_KEY_LIFETIME_MS).toISOString(),
      };
    },

    async unwrap(id, wrappedBase64) {
      const key = await usable(id);
      const wrapped = Buffer.from(wrappedBase64, 'base64');
      if (wrapped.length !== WRAPPING_KEY_BITS / 8 || wrapped.toString('base64') !== wrappedBase64.replace(/\s/g, '')) {
        throw invalid(
          `the wrapped key must be base64 of ${WRAPPING_KEY_BITS / 8} bytes (RSA-${WRAPPING_KEY_BITS} OAEP ciphertext), got ${wrapped.length}`,
        );
      }
      const der = await root.unsealSecret(key.sealedPrivateKey, sealContextFor(id));
      let material: Buffer;
      try {
        const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
        material = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
      } catch {
        throw invalid(
          `the wrapped key does not decrypt with wrapping key "${id}"; wrap it with RSA-OAEP, SHA-256 (openssl pkeyutl -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256)`,
        );
      } finally {
        der.fill(0);
      }
      if (material.length !== AES_256_KEY_BYTES) {
        material.fill(0);
        throw invalid(`the wrapped key holds ${material.length} bytes; it must be a 256-bit (32-byte) AES key`);
      }
      return material;
    },

    async consume(id) {
      if (!(await keyStore.markWrappingKeyUsed(id, clock.now()))) {
        throw invalid(`import wrapping key "${id}" was already used; ask for a new one`);
      }
    },
  };
}
