import type { LiveKey } from '../../registry/live-state.js';

export interface KeyMetadataResponse {
  keySpec: 'AES_256';
  keyUsage: string[];
  keyStatus: 'ENABLED' | 'DISABLED';
}

/**
 * GetKeyMetadata. A disabled key still answers 200, with `DISABLED` (docs/requirements.md#get-key-metadata).
 *
 *= docs/requirements.md#get-key-metadata
 *# 25. [MUST] A 200 answer carries all three of `keySpec`, `keyUsage` and `keyStatus`.
 *# 26. [MUST] A 256-bit AES key is reported with `keySpec` `AES_256`.
 *# 27. [MUST] `keyUsage` lists `ENCRYPT` and `DECRYPT`, in upper case, for a key that allows those operations.
 *# 29. [MUST NOT] `keyUsage` holds more than 10 values.
 *# 30. [MUST] `keyStatus` is `ENABLED` or `DISABLED`, and `ENABLED` where keys cannot be disabled one by one.
 */
export function getKeyMetadata(key: LiveKey): KeyMetadataResponse {
  return {
    keySpec: 'AES_256',
    keyUsage: [...key.record.usage],
    keyStatus: key.record.status === 'ENABLED' ? 'ENABLED' : 'DISABLED',
  };
}
