import type { KeyUsage } from '../domain/types.js';
import type { LiveKey, LiveKeystore } from '../registry/live-state.js';
import { XksError } from './errors.js';
import type { XksGate } from './pipeline-ports.js';
import type { KeyOperation } from './route.js';

/**
 * Stage "check" for a key operation, after "authorize" and before any crypto, in docs/requirements.md#error-order order:
 * the keystore is enabled; no node-wide refusal (the kill switch) is on; the key is enabled (except for
 * GetKeyMetadata, which reports a disabled key as DISABLED); the key allows the operation (a CDIV encrypt
 * decrypts to verify, so it needs DECRYPT too, docs/requirements.md#cdiv, docs/kms-client.md#curl).
 */
export function checkKeyOperation(
  refusalGates: readonly XksGate[],
  operation: KeyOperation,
  keystore: LiveKeystore,
  key: LiveKey,
  cdivRequested: boolean,
): void {
  requireKeystoreEnabled(keystore);
  for (const gate of refusalGates) {
    const error = gate(operation, keystore);
    if (error) throw error;
  }
  if (operation === 'GetKeyMetadata') return;
  requireKeyEnabled(key);
  requireUsage(key, operation === 'Encrypt' ? 'ENCRYPT' : 'DECRYPT');
  if (cdivRequested) requireUsage(key, 'DECRYPT', 'A data integrity value needs DECRYPT on the key to verify the ciphertext');
}

/**
 * Stage "check", keystore part (GetHealthStatus has only this one).
 *
 *= docs/requirements.md#errors
 *# 77. [SPEC] A disabled external key or key store is answered 400 `InvalidStateException`.
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
function requireKeyEnabled(key: LiveKey): void {
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
 *= docs/requirements.md#errors
 *# 76. [SPEC] Encrypt or Decrypt with a key that lacks that usage is answered 400 `InvalidKeyUsageException`.
 */
function requireUsage(key: LiveKey, usage: KeyUsage, why = `The external key does not allow ${usage}`): void {
  if (!key.record.usage.includes(usage)) throw new XksError('InvalidKeyUsageException', why);
}
