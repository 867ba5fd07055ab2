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
  // A destroyed key keeps its row (its id is never reused) but, for KMS, no longer exists.
  if (!key || key.record.internal || key.record.status === 'DESTROYED') {
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
  const { status, blockReason } = keystore.keystore;
  if (status === 'BLOCKED') {
    // The operator's reason goes to the log and audit record, not to AWS callers.
    throw new XksError(
      'InvalidStateException',
      'The key store is blocked in the external key manager',
      `keystore blocked: ${blockReason ?? ''}`,
    );
  }
  if (status !== 'ENABLED') {
    throw new XksError('InvalidStateException', 'The key store is disabled in the external key manager');
  }
}

const KEY_STATE_MESSAGE: Record<string, string> = {
  DISABLED: 'The external key is disabled in the external key manager',
  BLOCKED: 'The external key is blocked in the external key manager',
  PENDING_DELETION: 'The external key is pending deletion in the external key manager',
};

/** Only ENABLED keys do crypto; each other state answers InvalidStateException saying which it is. */
export function requireKeyEnabled(key: LiveKey): void {
  const { status, blockReason } = key.record;
  if (status !== 'ENABLED') {
    throw new XksError(
      'InvalidStateException',
      KEY_STATE_MESSAGE[status] ?? 'The external key is not enabled in the external key manager',
      status === 'BLOCKED' ? `key blocked: ${blockReason ?? ''}` : `key ${status.toLowerCase()}`,
    );
  }
}

/**
 *= xks-spec.md#14.8
 *# 76. [SPEC] Encrypt or Decrypt on a key without that usage → 400 `InvalidKeyUsageException`.
 */
export function requireUsage(key: LiveKey, usage: KeyUsage, why = `The external key does not allow ${usage}`): void {
  if (!key.record.usage.includes(usage)) throw new XksError('InvalidKeyUsageException', why);
}
