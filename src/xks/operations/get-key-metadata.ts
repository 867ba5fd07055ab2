import type { LiveKey } from '../../registry/live-state.js';

export interface KeyMetadataResponse {
  keySpec: 'AES_256';
  keyUsage: string[];
  keyStatus: 'ENABLED' | 'DISABLED';
}

/**
 * GetKeyMetadata. A disabled key still answers 200, with `DISABLED` (xks-spec.md §6.1 [rec]).
 *
 *= xks-spec.md#14.4
 *# 25. [MUST] The 200 response has `keySpec`, `keyUsage` and `keyStatus`.
 *# 26. [MUST] A 256-bit AES key reports `keySpec` = `AES_256`.
 *# 27. [MUST] Use upper-case `ENCRYPT` and `DECRYPT` in `keyUsage` for keys allowing those operations.
 *# 29. [MUST NOT] Return more than 10 `keyUsage` values.
 *# 30. [MUST] `keyStatus` ∈ {`ENABLED`, `DISABLED`}.
 */
export function getKeyMetadata(key: LiveKey): KeyMetadataResponse {
  return {
    keySpec: 'AES_256',
    keyUsage: [...key.record.usage],
    keyStatus: key.record.status === 'ENABLED' ? 'ENABLED' : 'DISABLED',
  };
}
