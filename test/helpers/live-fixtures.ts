/**
 * In-memory keystores and keys for testing the XKS data plane's stages and handler without a node:
 * what `LiveState` holds once a node has loaded them, built from plain records and real AES-GCM keys.
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import type { KeyRecord, Keystore } from '../../src/domain/types.js';
import { createLiveState, type LiveKey, type LiveKeystore, type LiveState } from '../../src/registry/live-state.js';
import { softwareDataKey } from '../../src/roots/software-root.js';

export function liveKeystore(overrides: Partial<Keystore> = {}): LiveKeystore {
  return {
    keystore: {
      id: 'ks-1',
      name: 'test',
      prefix: '/test',
      region: 'us-east-1',
      groupId: 'group-1',
      status: 'ENABLED',
      createdAt: 0,
      ...overrides,
    },
    secrets: new Map([['AKIDTEST', 'secret']]),
  };
}

/** A key of the keystore's group with versions 1..currentVersion, each a fresh AES-256 key. */
export function liveKey(overrides: Partial<KeyRecord> = {}): LiveKey {
  const record: KeyRecord = {
    id: `key-${overrides.externalId ?? 'k1'}`,
    groupId: 'group-1',
    externalId: 'k1',
    usage: ['ENCRYPT', 'DECRYPT'],
    status: 'ENABLED',
    internal: false,
    currentVersion: 1,
    description: '',
    tags: {},
    minDecryptVersion: 1,
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
  const versions = new Map(
    Array.from({ length: record.currentVersion }, (_, i) => [i + 1, softwareDataKey(createSecretKey(randomBytes(32)))] as const),
  );
  return { record, versions };
}

/** A LiveState holding `keystores` and `keys`. */
export function liveState(keystores: readonly LiveKeystore[], keys: readonly LiveKey[]): LiveState {
  const live = createLiveState();
  for (const { keystore, secrets } of keystores) live.putKeystore(keystore, secrets);
  for (const key of keys) live.putKey(key);
  return live;
}
