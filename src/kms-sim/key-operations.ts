/**
 * CreateKey in an external key store, plus the key-state APIs that make no proxy call
 * (docs/kms-client.md#create-key, #rotation).
 */
import { randomUUID } from 'node:crypto';
import { findStore, kmsErrorFor, proxyTarget, type SimulatorContext } from './context.js';
import { CREATE_KEY_MESSAGES, KMS_MESSAGES } from './error-mapping.js';
import { KmsError } from './kms-error.js';
import { checkXksKeyId } from './kms-params.js';
import { createKeyRequestMetadata, type RequestMetadata } from './request-metadata.js';
import { effectiveKeyState, keyArn, type KeyState, type KmsKey, type SimulatorState } from './state.js';
import { findCreateKeyRefusal, type CreateKeyRefusal, type KeyMetadata } from './validators.js';

export interface CreateKeyInput {
  customKeyStoreId: string;
  xksKeyId: string;
  requestMetadata?: RequestMetadata;
}

/** What DescribeKey shows: never the key material. */
export interface KmsKeyDescription {
  keyId: string;
  arn: string;
  customKeyStoreId: string;
  xksKeyId: string;
  keyState: KeyState | 'Unavailable';
  origin: 'EXTERNAL_KEY_STORE';
  keySpec: 'SYMMETRIC_DEFAULT';
  keyUsage: 'ENCRYPT_DECRYPT';
  createdAt: number;
}

/** CreateKey in an external key store, and the key-state calls (no proxy traffic). Keys are named by id or ARN. */
export interface KeyOperations {
  /** KMS's checks, GetKeyMetadata (kmsOperation CreateKey), then the checks that refuse a key KMS cannot use. */
  createKey(input: CreateKeyInput): Promise<KmsKeyDescription>;
  describeKey(keyIdOrArn: string): KmsKeyDescription;
  enableKey(keyIdOrArn: string): KmsKeyDescription;
  disableKey(keyIdOrArn: string): KmsKeyDescription;
  /** PendingDeletion at once (the waiting period is not simulated): no crypto until enabled again. */
  scheduleKeyDeletion(keyIdOrArn: string): KmsKeyDescription;
}

export function describeKmsKey(state: SimulatorState, key: KmsKey): KmsKeyDescription {
  return {
    keyId: key.keyId,
    arn: key.arn,
    customKeyStoreId: key.customKeyStoreId,
    xksKeyId: key.xksKeyId,
    keyState: effectiveKeyState(state, key),
    origin: 'EXTERNAL_KEY_STORE',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    createdAt: key.createdAt,
  };
}

/** Accepts a key id or a key ARN of this account and Region. */
export function resolveKey(state: SimulatorState, keyIdOrArn: string): KmsKey {
  const keyId = keyIdOrArn.startsWith('arn:') ? keyIdOrArn.slice(keyIdOrArn.lastIndexOf('/') + 1) : keyIdOrArn;
  const key = state.keys.get(keyId);
  if (!key || (keyIdOrArn.startsWith('arn:') && key.arn !== keyIdOrArn)) {
    throw new KmsError('NotFoundException', `Key '${keyIdOrArn}' does not exist`);
  }
  return key;
}

function refusalMessage(refusal: CreateKeyRefusal): string {
  switch (refusal.check) {
    case 'keySpec-is-AES_256':
      return CREATE_KEY_MESSAGES.keySpec(refusal.found);
    case 'keyStatus-is-ENABLED':
      return CREATE_KEY_MESSAGES.keyStatus(refusal.found);
    case 'keyUsage-includes-ENCRYPT-and-DECRYPT':
      return CREATE_KEY_MESSAGES.keyUsage(refusal.found);
  }
}

export function createKeyOperations(ctx: SimulatorContext): KeyOperations {
  const { state } = ctx;

  function requireUnusedXksKeyId(customKeyStoreId: string, xksKeyId: string): void {
    for (const key of state.keys.values()) {
      if (key.customKeyStoreId === customKeyStoreId && key.xksKeyId === xksKeyId) {
        throw new KmsError(
          'XksKeyAlreadyInUseException',
          `The external key '${xksKeyId}' is already associated with a KMS key in this external key store.`,
        );
      }
    }
  }

  function requireUsableExternalKey(metadata: KeyMetadata): void {
    const refusal = findCreateKeyRefusal(metadata);
    if (refusal) {
      throw new KmsError('XksKeyInvalidConfigurationException', refusalMessage(refusal), { failedChecks: [refusal.check] });
    }
  }

  /** KMS-side checks, then GetKeyMetadata (kmsOperation CreateKey, no kmsKeyArn), then the docs/kms-client.md#create-key checks. */
  async function createKey(input: CreateKeyInput): Promise<KmsKeyDescription> {
    checkXksKeyId(input.xksKeyId);
    const store = findStore(state, input.customKeyStoreId);
    if (store.connectionState !== 'CONNECTED') {
      throw new KmsError('CustomKeyStoreInvalidStateException', KMS_MESSAGES.storeNotConnected);
    }
    requireUnusedXksKeyId(store.id, input.xksKeyId);
    const metadata = await ctx.xks.getKeyMetadata(
      proxyTarget(state, store),
      input.xksKeyId,
      createKeyRequestMetadata(ctx.caller, input.requestMetadata),
    );
    if (!metadata.ok) throw kmsErrorFor(metadata, 'create-key');
    requireUsableExternalKey(metadata.value);
    const keyId = randomUUID();
    const key: KmsKey = {
      keyId,
      arn: keyArn(state, keyId),
      customKeyStoreId: store.id,
      xksKeyId: input.xksKeyId,
      keyState: 'Enabled',
      hbk: ctx.randomBytes(32),
      createdAt: ctx.clock.now(),
    };
    state.keys.set(keyId, key);
    return describeKmsKey(state, key);
  }

  function setKeyState(keyIdOrArn: string, keyState: KeyState): KmsKeyDescription {
    const key = resolveKey(state, keyIdOrArn);
    key.keyState = keyState;
    return describeKmsKey(state, key);
  }

  return {
    createKey,
    describeKey: (keyIdOrArn) => describeKmsKey(state, resolveKey(state, keyIdOrArn)),
    enableKey: (keyIdOrArn) => setKeyState(keyIdOrArn, 'Enabled'),
    disableKey: (keyIdOrArn) => setKeyState(keyIdOrArn, 'Disabled'),
    scheduleKeyDeletion: (keyIdOrArn) => setKeyState(keyIdOrArn, 'PendingDeletion'),
  };
}
