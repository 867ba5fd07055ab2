import type { KeyUsage } from '../domain/types.js';
import type { LiveKey, LiveKeystore, LiveState } from '../registry/live-state.js';
import { XksError } from './errors.js';

/**
 * Stage "resolve": key id → key in the keystore's group, from memory.
 *
 *= xks-spec.md#14.2
 *# 16. [MUST] Map each `externalKeyId` to exactly one external key, scoped per endpoint or prefix.
 *= xks-spec.md#14.8
 *# 75. [SPEC] Unknown key → 404 `KeyNotFoundException`.
 */
export function resolveKey(live: LiveState, keystore: LiveKeystore, keyId: string): LiveKey {
  const key = live.key(keystore.keystore.groupId, keyId);
  if (!key || key.record.internal) {
    throw new XksError('KeyNotFoundException', 'The external key does not exist in this key store');
  }
  return key;
}

/**
 * Stage "check": key store and key state.
 *
 *= xks-spec.md#14.8
 *# 77. [SPEC] Disabled external key or key store → 400 `InvalidStateException`.
 */
export function requireKeystoreEnabled(keystore: LiveKeystore): void {
  if (keystore.keystore.status !== 'ENABLED') {
    throw new XksError('InvalidStateException', 'The key store is disabled in the external key manager');
  }
}

export function requireKeyEnabled(key: LiveKey): void {
  if (key.record.status !== 'ENABLED') {
    throw new XksError('InvalidStateException', 'The external key is disabled in the external key manager');
  }
}

/**
 *= xks-spec.md#14.8
 *# 76. [SPEC] Encrypt or Decrypt on a key without that usage → 400 `InvalidKeyUsageException`.
 */
export function requireUsage(key: LiveKey, usage: KeyUsage, why = `The external key does not allow ${usage}`): void {
  if (!key.record.usage.includes(usage)) throw new XksError('InvalidKeyUsageException', why);
}
