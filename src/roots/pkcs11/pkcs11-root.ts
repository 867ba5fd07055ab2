import { createSecretKey, randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Pkcs11RootConfig } from '../root-config.js';
import type { DataKey, RootOfTrust } from '../root-of-trust.js';
import { aadFor, softwareDataKey } from '../software-root.js';
import { readPin } from './pin.js';
import type { KeyObjectName, WorkerResult } from './protocol.js';
import {
  handleReference,
  IV_LENGTH,
  keyObjectName,
  masterKeyName,
  newObjectId,
  objectIdOf,
  openSealedBlob,
  SEALED_SECRET_FORMAT,
  sealedBlob,
  WRAPPED_FORMAT,
} from './references.js';
import { SessionPool, type SessionPoolOptions } from './session-pool.js';

const AES_256_KEY_LENGTH = 32;

export interface Pkcs11RootOptions {
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  pool?: Partial<Omit<SessionPoolOptions, 'library' | 'tokenLabel' | 'pin' | 'clock'>>;
}

/**
 * A copy with its own exact-size ArrayBuffer. Small Buffers are views into Node's shared 8 KiB pool,
 * and posting a view to a worker copies its whole ArrayBuffer: this keeps each call's message small.
 */
function own(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isResultOf<T extends WorkerResult['op']>(result: WorkerResult, op: T): result is Extract<WorkerResult, { op: T }> {
  return result.op === op;
}

function expect<T extends WorkerResult['op']>(result: WorkerResult, op: T): Extract<WorkerResult, { op: T }> {
  if (!isResultOf(result, op)) throw new Error(`PKCS#11 worker answered ${result.op} to a ${op} call`);
  return result;
}

function openPool(config: Pkcs11RootConfig, options: Pkcs11RootOptions): Promise<SessionPool> {
  return SessionPool.open({
    sessions: config.sessions,
    callTimeoutMs: config.callTimeoutMs,
    reconnectIntervalMs: config.reconnectIntervalMs,
    probeIntervalMs: config.probeIntervalMs,
    maxQueuePerSession: config.maxQueuePerSession,
    ...options.pool,
    library: config.library,
    tokenLabel: config.tokenLabel,
    pin: readPin(config, options.env),
    clock: options.clock ?? systemClock,
  });
}

/**
 * Creates this data directory's master key on the token (non-extractable, sensitive AES-256) and returns
 * the config to write to root.json, which names the key by its CKA_ID.
 */
export async function createPkcs11MasterKey(config: Pkcs11RootConfig, options: Pkcs11RootOptions = {}): Promise<Pkcs11RootConfig> {
  const pool = await openPool(config, options);
  try {
    const masterKeyId = newObjectId().toString('hex');
    await pool.call({ op: 'generate', key: masterKeyName(masterKeyId) });
    return { ...config, masterKeyId };
  } finally {
    await pool.close();
  }
}

/** Destroys a data directory's master key on the token (undoing a failed `keyhold init`). */
export async function destroyPkcs11MasterKey(config: Pkcs11RootConfig, options: Pkcs11RootOptions = {}): Promise<void> {
  if (!config.masterKeyId) return;
  const pool = await openPool(config, options);
  try {
    await pool.call({ op: 'destroy', id: masterKeyName(config.masterKeyId).id });
  } finally {
    await pool.close();
  }
}

/**
 * A root of trust in a PKCS#11 token (docs/architecture.md#roots-of-trust).
 * - `keys` mode: every key is a non-extractable, sensitive AES-256 object on the token; Keyhold stores
 *   only its CKA_ID, and every encrypt and decrypt is CKM_AES_GCM inside the HSM.
 * - `wrap` mode: only the master key is on the token; key material is generated in software, sealed
 *   with CKM_AES_GCM under the master key, and unsealed into memory to serve the data plane.
 * Secrets (SigV4 secrets) are sealed under the master key in both modes, with the record identity as AAD.
 */
export async function createPkcs11Root(config: Pkcs11RootConfig, options: Pkcs11RootOptions = {}): Promise<RootOfTrust> {
  if (!config.masterKeyId)
    throw new Error('root.json names no PKCS#11 master key (masterKeyId); create the data directory with keyhold init --root pkcs11');
  const pool = await openPool(config, options);
  const master = masterKeyName(config.masterKeyId);
  let model: string;
  try {
    await pool.call({ op: 'find', key: master }).catch((error: Error) => {
      throw new Error(`the Keyhold master key ${config.masterKeyId} is not on token "${config.tokenLabel}" (${error.message})`);
    });
    const { info } = expect(await pool.call({ op: 'tokenInfo' }), 'tokenInfo');
    model = `PKCS#11 ${info.manufacturer} ${info.model} (token "${info.label}", serial ${info.serialNumber}, ${config.mode} mode)`;
  } catch (error) {
    await pool.close();
    throw error;
  }

  async function gcmEncrypt(key: KeyObjectName, iv: Buffer, plaintext: Buffer, aad: Buffer) {
    const result = expect(await pool.call({ op: 'encrypt', id: key.id, iv: own(iv), aad: own(aad), plaintext: own(plaintext) }), 'encrypt');
    return { ciphertext: asBuffer(result.ciphertext), tag: asBuffer(result.tag) };
  }

  async function gcmDecrypt(key: KeyObjectName, iv: Buffer, ciphertext: Buffer, aad: Buffer, tag: Buffer): Promise<Buffer> {
    const call = { op: 'decrypt' as const, id: key.id, iv: own(iv), aad: own(aad), ciphertext: own(ciphertext), tag: own(tag) };
    return asBuffer(expect(await pool.call(call), 'decrypt').plaintext);
  }

  async function seal(format: number, plaintext: Buffer, context: string): Promise<Buffer> {
    const iv = randomBytes(IV_LENGTH);
    const { ciphertext, tag } = await gcmEncrypt(master, iv, plaintext, aadFor(context));
    return sealedBlob(format, iv, tag, ciphertext);
  }

  async function unseal(format: number, sealed: Buffer, context: string): Promise<Buffer> {
    const { iv, tag, ciphertext } = openSealedBlob(format, sealed, context);
    return gcmDecrypt(master, iv, ciphertext, aadFor(context), tag);
  }

  function hsmDataKey(key: KeyObjectName): DataKey {
    return {
      encrypt: (iv, plaintext, aad) => gcmEncrypt(key, iv, plaintext, aad),
      decrypt: (iv, ciphertext, aad, tag) => gcmDecrypt(key, iv, ciphertext, aad, tag),
    };
  }

  return {
    kind: 'pkcs11',
    model,
    // Wrap mode unwraps into memory: keys opened at start keep serving while the token is away.
    opensKeysAtStart: config.mode === 'wrap',
    async createKeyMaterial(context) {
      if (config.mode === 'keys') {
        const id = newObjectId();
        await pool.call({ op: 'generate', key: keyObjectName(id, context) });
        return handleReference(id);
      }
      const material = randomBytes(AES_256_KEY_LENGTH);
      try {
        return await seal(WRAPPED_FORMAT, material, context);
      } finally {
        material.fill(0);
      }
    },
    async importKeyMaterial(material, context) {
      if (material.length !== AES_256_KEY_LENGTH) throw new Error('imported key material must be 256 bits');
      if (config.mode === 'wrap') return seal(WRAPPED_FORMAT, material, context);
      const id = newObjectId();
      // The worker gets a copy and zeroes it after creating the object.
      await pool.call({ op: 'import', key: keyObjectName(id, context), material: Uint8Array.from(material) });
      return handleReference(id);
    },
    async openKey(reference, context) {
      if (config.mode === 'keys') {
        const key = keyObjectName(Buffer.from(objectIdOf(reference, context)), context);
        await pool.call({ op: 'find', key });
        return hsmDataKey(key);
      }
      const material = await unseal(WRAPPED_FORMAT, reference, context);
      try {
        return softwareDataKey(createSecretKey(material));
      } finally {
        material.fill(0);
      }
    },
    async destroyKeyMaterial(reference, context) {
      // Wrapped material lives only in the stored row; deleting the row erases it.
      if (config.mode !== 'keys') return;
      const id = new Uint8Array(objectIdOf(reference, context));
      // Every session drops its copy first, so no session can use the key once it is destroyed.
      await pool.broadcast({ op: 'forget', id });
      await pool.call({ op: 'destroy', id });
    },
    sealSecret: (secret, context) => seal(SEALED_SECRET_FORMAT, secret, context),
    unsealSecret: (sealed, context) => unseal(SEALED_SECRET_FORMAT, sealed, context),
    // Wrap mode serves loaded keys from memory without the HSM: a lost token degrades it (no new keys or
    // credentials) rather than making it unavailable.
    state: () => {
      const state = pool.state();
      return config.mode === 'wrap' && state === 'UNAVAILABLE' ? 'DEGRADED' : state;
    },
    close: () => pool.close(),
  };
}
