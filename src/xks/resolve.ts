import type { LiveKey, LiveKeystore, LiveState } from '../registry/live-state.js';
import { XksError } from './errors.js';
import type { XksGate } from './pipeline-ports.js';
import type { KeyOperation } from './route.js';

/**
 * Stage "resolve": key id → key in the keystore's group, from memory.
 *
 * The availability gates are asked first: while one answers (a sealed root of trust has no key loaded),
 * the node says so rather than claiming that the key does not exist.
 *
 *= docs/requirements.md#key-ids
 *# 16. [MUST] Each `externalKeyId` maps to exactly one external key within its endpoint or path prefix.
 *= docs/requirements.md#errors
 *# 75. [SPEC] An unknown key is answered 404 `KeyNotFoundException`; an unknown prefix or path 404 `InvalidUriPathException`.
 */
export function resolveKey(
  live: LiveState,
  availabilityGates: readonly XksGate[],
  operation: KeyOperation,
  keystore: LiveKeystore,
  keyId: string,
): LiveKey {
  for (const gate of availabilityGates) {
    const error = gate(operation, keystore);
    if (error) throw error;
  }
  const key = live.key(keystore.keystore.groupId, keyId);
  // A destroyed key keeps its row (its id is never reused) but, for KMS, no longer exists.
  if (!key || key.record.internal || key.record.status === 'DESTROYED') {
    throw new XksError('KeyNotFoundException', 'The external key does not exist in this key store');
  }
  return key;
}
