/**
 * Encrypt, GenerateDataKey(WithoutPlaintext), Decrypt and ReEncrypt with the double envelope
 * (docs/kms-client.md#double-envelope, #simulator-calls): KMS seals the plaintext under the key's own material (hbk),
 * the proxy wraps that inner blob, and the simulator's blob keeps only the proxy's outputs.
 */
import { kmsErrorFor, proxyTarget, type SimulatorContext } from './context.js';
import type { ProxyTarget } from './proxy-client.js';
import { additionalDataFor, openInner, parseBlob, sealInner, serializeBlob, type BlobFields, type EncryptionContext } from './blob.js';
import { KMS_MESSAGES } from './error-mapping.js';
import { KmsError } from './kms-error.js';
import { checkPlaintextSize } from './kms-params.js';
import { resolveKey } from './key-operations.js';
import { cryptoRequestMetadata, type RequestMetadata } from './request-metadata.js';
import { effectiveKeyState, type KmsKey } from './state.js';

/** Per-call knobs beyond the KMS API. */
export interface CryptoCallOptions {
  /** Merged over the requestMetadata KMS would send; `undefined` values remove fields. */
  requestMetadata?: RequestMetadata;
  /** Ask the proxy for a CDIV (Encrypt-like calls); defaults to the simulator setting. */
  ciphertextDataIntegrity?: boolean;
}

export interface EncryptInput extends CryptoCallOptions {
  keyId: string;
  plaintext: Buffer;
  encryptionContext?: EncryptionContext;
}

export interface GenerateDataKeyInput extends CryptoCallOptions {
  keyId: string;
  keySpec?: 'AES_256' | 'AES_128';
  numberOfBytes?: number;
  encryptionContext?: EncryptionContext;
}

export interface DecryptInput extends CryptoCallOptions {
  ciphertextBlob: Buffer;
  /** Optional; must name the key the blob was made with. */
  keyId?: string;
  encryptionContext?: EncryptionContext;
}

export interface ReEncryptInput extends CryptoCallOptions {
  ciphertextBlob: Buffer;
  sourceKeyId?: string;
  sourceEncryptionContext?: EncryptionContext;
  destinationKeyId: string;
  destinationEncryptionContext?: EncryptionContext;
}

export interface EncryptResult {
  ciphertextBlob: Buffer;
  /** The key's ARN. */
  keyId: string;
  encryptionAlgorithm: 'SYMMETRIC_DEFAULT';
}

export interface GenerateDataKeyResult {
  ciphertextBlob: Buffer;
  plaintext: Buffer;
  keyId: string;
}

export interface GenerateDataKeyWithoutPlaintextResult {
  ciphertextBlob: Buffer;
  keyId: string;
}

export interface DecryptResult {
  plaintext: Buffer;
  keyId: string;
  encryptionAlgorithm: 'SYMMETRIC_DEFAULT';
}

export interface ReEncryptResult {
  ciphertextBlob: Buffer;
  /** ARNs of the key that made the blob and of the key that made the new one. */
  sourceKeyId: string;
  keyId: string;
}

/**
 * The cryptographic calls of the simulated KMS. Each checks the key's state and the store's connection
 * before any proxy call, and maps a failed proxy call to the KMS exception AWS documents.
 */
export interface CryptoOperations {
  /** Encrypt: KMS's inner layer under the key's own material, wrapped by a proxy Encrypt. */
  encrypt(input: EncryptInput): Promise<EncryptResult>;
  /** GenerateDataKey: 32 bytes (AES_256), 16 (AES_128) or NumberOfBytes, sealed as Encrypt seals. */
  generateDataKey(input: GenerateDataKeyInput): Promise<GenerateDataKeyResult>;
  generateDataKeyWithoutPlaintext(input: GenerateDataKeyInput): Promise<GenerateDataKeyWithoutPlaintextResult>;
  /** Decrypt: a proxy Decrypt, then KMS's inner layer (which catches an AAD the proxy did not bind). */
  decrypt(input: DecryptInput): Promise<DecryptResult>;
  /** ReEncrypt: a proxy Decrypt then a proxy Encrypt, both with kmsOperation ReEncrypt. */
  reEncrypt(input: ReEncryptInput): Promise<ReEncryptResult>;
}

const MAX_PROXY_AAD_BYTES = 8192;
const INNER_IV_BYTES = 12;

export function createCryptoOperations(ctx: SimulatorContext): CryptoOperations {
  const { state } = ctx;

  /** KMS pre-checks before any proxy call: key state, then store connection. */
  function requireUsable(key: KmsKey): void {
    const keyState = effectiveKeyState(state, key);
    if (keyState === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    if (keyState === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    if (keyState === 'Unavailable') throw new KmsError('KMSInvalidStateException', KMS_MESSAGES.storeNotConnected);
  }

  function aadFor(key: KmsKey, context: EncryptionContext | undefined): Buffer {
    const aad = additionalDataFor(key.keyId, context);
    if (aad.length > MAX_PROXY_AAD_BYTES) throw new KmsError('ValidationException', 'The encryption context is too large.');
    return aad;
  }

  function targetOf(key: KmsKey): ProxyTarget {
    const store = state.stores.get(key.customKeyStoreId);
    if (!store) throw new KmsError('KMSInvalidStateException', KMS_MESSAGES.storeNotConnected);
    return proxyTarget(state, store);
  }

  /** Inner layer under hbk, outer layer by the proxy; returns the simulator blob. */
  async function seal(
    key: KmsKey,
    plaintext: Buffer,
    context: EncryptionContext | undefined,
    kmsOperation: string,
    options: CryptoCallOptions,
  ): Promise<Buffer> {
    requireUsable(key);
    const aad = aadFor(key, context);
    const inner = sealInner(key.hbk, plaintext, aad, ctx.randomBytes(INNER_IV_BYTES));
    const result = await ctx.xks.encrypt(targetOf(key), key.xksKeyId, {
      requestMetadata: cryptoRequestMetadata(ctx.caller, key.arn, kmsOperation, options.requestMetadata),
      plaintext: inner,
      ...(ctx.sendAad ? { aad } : {}),
      cdiv: options.ciphertextDataIntegrity ?? ctx.cdivByDefault,
    });
    if (!result.ok) throw kmsErrorFor(result, 'crypto');
    const { ciphertext, initializationVector, authenticationTag, ciphertextMetadata } = result.value;
    return serializeBlob({
      keyId: key.keyId,
      ciphertext,
      initializationVector,
      authenticationTag,
      ...(ciphertextMetadata ? { ciphertextMetadata } : {}),
    });
  }

  function readBlob(blob: Buffer): BlobFields {
    const fields = parseBlob(blob);
    if (!fields) {
      throw new KmsError(
        'InvalidCiphertextException',
        'The request was rejected because the specified ciphertext, or additional authenticated data incorporated into the ciphertext, such as the encryption context, is corrupted, missing, or otherwise invalid.',
      );
    }
    return fields;
  }

  /** Proxy Decrypt, then KMS's own inner layer. */
  async function open(
    blob: Buffer,
    context: EncryptionContext | undefined,
    expectedKeyId: string | undefined,
    kmsOperation: string,
    options: CryptoCallOptions,
  ): Promise<{ key: KmsKey; plaintext: Buffer }> {
    const fields = readBlob(blob);
    const key = resolveKey(state, fields.keyId);
    if (expectedKeyId !== undefined && resolveKey(state, expectedKeyId).keyId !== key.keyId) {
      throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify the KMS key that encrypted the ciphertext.');
    }
    requireUsable(key);
    const aad = aadFor(key, context);
    const result = await ctx.xks.decrypt(targetOf(key), key.xksKeyId, {
      requestMetadata: cryptoRequestMetadata(ctx.caller, key.arn, kmsOperation, options.requestMetadata),
      ciphertext: fields.ciphertext,
      initializationVector: fields.initializationVector,
      authenticationTag: fields.authenticationTag,
      ...(fields.ciphertextMetadata ? { ciphertextMetadata: fields.ciphertextMetadata } : {}),
      ...(ctx.sendAad ? { aad } : {}),
    });
    if (!result.ok) throw kmsErrorFor(result, 'crypto');
    const plaintext = openInner(key.hbk, result.value, aad);
    if (!plaintext) throw kmsErrorFor({ outcome: { kind: 'inner-layer-failed' } }, 'crypto');
    return { key, plaintext };
  }

  function dataKeyLength(input: GenerateDataKeyInput): number {
    if (input.numberOfBytes !== undefined) {
      if (!Number.isInteger(input.numberOfBytes) || input.numberOfBytes < 1 || input.numberOfBytes > 1024) {
        throw new KmsError('ValidationException', 'NumberOfBytes must be an integer from 1 to 1024.');
      }
      return input.numberOfBytes;
    }
    return input.keySpec === 'AES_128' ? 16 : 32;
  }

  async function encrypt(input: EncryptInput): Promise<EncryptResult> {
    checkPlaintextSize(input.plaintext);
    const key = resolveKey(state, input.keyId);
    const ciphertextBlob = await seal(key, input.plaintext, input.encryptionContext, 'Encrypt', input);
    return { ciphertextBlob, keyId: key.arn, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  async function generateDataKey(input: GenerateDataKeyInput): Promise<GenerateDataKeyResult> {
    const key = resolveKey(state, input.keyId);
    const plaintext = ctx.randomBytes(dataKeyLength(input));
    const ciphertextBlob = await seal(key, plaintext, input.encryptionContext, 'GenerateDataKey', input);
    return { ciphertextBlob, plaintext, keyId: key.arn };
  }

  async function generateDataKeyWithoutPlaintext(input: GenerateDataKeyInput): Promise<GenerateDataKeyWithoutPlaintextResult> {
    const key = resolveKey(state, input.keyId);
    const plaintext = ctx.randomBytes(dataKeyLength(input));
    const ciphertextBlob = await seal(key, plaintext, input.encryptionContext, 'GenerateDataKeyWithoutPlaintext', input);
    return { ciphertextBlob, keyId: key.arn };
  }

  async function decrypt(input: DecryptInput): Promise<DecryptResult> {
    const { key, plaintext } = await open(input.ciphertextBlob, input.encryptionContext, input.keyId, 'Decrypt', input);
    return { plaintext, keyId: key.arn, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  /** Source leg is a proxy Decrypt, destination leg a proxy Encrypt, both with kmsOperation ReEncrypt. */
  async function reEncrypt(input: ReEncryptInput): Promise<ReEncryptResult> {
    const source = await open(input.ciphertextBlob, input.sourceEncryptionContext, input.sourceKeyId, 'ReEncrypt', input);
    const destination = resolveKey(state, input.destinationKeyId);
    const ciphertextBlob = await seal(destination, source.plaintext, input.destinationEncryptionContext, 'ReEncrypt', input);
    return { ciphertextBlob, sourceKeyId: source.key.arn, keyId: destination.arn };
  }

  return { encrypt, generateDataKey, generateDataKeyWithoutPlaintext, decrypt, reEncrypt };
}
