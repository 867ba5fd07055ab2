import type { Clock } from '../core/clock.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import type { KeyRecord, StoredKeyVersion } from '../domain/types.js';
import { daysAfter } from './attributes.js';
import type { KeyLookup, KeyRef } from './key-lookup.js';
import type { KeyMaterial } from './key-material.js';
import type { KeyStore } from './key-store.js';
import { LIVE, refuse, type KeyTransitions } from './key-transitions.js';
import { versionView, type KeyVersionView, type KeyView, type KeyViews } from './key-views.js';
import type { LiveKeys } from './live-keys.js';

export const MAX_ROTATION_DAYS = 3650;

/**
 * A key's versions (docs/rotation.md): rotation makes a new current version that Encrypt uses while
 * older ones still decrypt; the minimum decryption version and revocation stop old versions from
 * decrypting (from the next request); destroying an old version erases its material for good.
 */
export interface KeyVersions {
  /** Creates version n+1 and makes it current: Encrypt uses it from the next request; older versions still decrypt. */
  readonly rotate: (input: KeyRef) => Promise<KeyView>;
  /** Rotate every `days` days (the node does it), or `null` for manual rotation only. */
  readonly setRotationPolicy: (input: KeyRef & { days: number | null }) => Promise<KeyView>;
  readonly listVersions: (input: KeyRef) => Promise<KeyVersionView[]>;
  /** Ciphertexts of versions older than `version` are refused from the next request (InvalidStateException). */
  readonly setMinDecryptVersion: (input: KeyRef & { version: number }) => Promise<KeyView>;
  /** Stops one old version from decrypting (from the next request). The current version cannot be revoked: rotate first. */
  readonly revokeVersion: (input: KeyRef & { version: number }) => Promise<KeyVersionView>;
  /**
   * Erases one old version's material for good: its ciphertexts can never be decrypted again. Only a
   * version already revoked or below the minimum decryption version, so it takes two deliberate steps.
   */
  readonly destroyVersion: (input: KeyRef & { version: number }) => Promise<KeyVersionView>;
}

export function createKeyVersions(deps: {
  keyStore: KeyStore;
  clock: Clock;
  lookup: KeyLookup;
  views: KeyViews;
  liveKeys: LiveKeys;
  material: KeyMaterial;
  transitions: KeyTransitions;
}): KeyVersions {
  const { keyStore, clock, lookup, views, liveKeys, material } = deps;
  const { transition } = deps.transitions;

  async function requireVersion(record: KeyRecord, version: number): Promise<StoredKeyVersion> {
    if (!Number.isInteger(version) || version < 1) throw invalid(`version must be a positive integer (got ${version})`);
    const found = (await keyStore.listKeyVersions(record.id)).find((v) => v.version === version);
    if (!found) throw notFound(`key "${record.externalId}" has no version ${version} (current is ${record.currentVersion})`);
    return found;
  }

  /** An old version of a live key, for revoking or destroying it. */
  async function requireOldVersion(input: KeyRef & { version: number }, action: string) {
    const record = await lookup.requireKey(input.id, input.keystore);
    if (!LIVE.includes(record.status)) refuse(record, action);
    const version = await requireVersion(record, input.version);
    if (version.version === record.currentVersion)
      throw conflict(`version ${version.version} is the current version of key "${record.externalId}"; rotate first`);
    return { record, version };
  }

  /** The key's row is stamped as changed (other nodes then pick it up) and published again. */
  async function touch(record: KeyRecord): Promise<KeyRecord> {
    await keyStore.updateKey(record.id, {}, clock.now());
    return liveKeys.publish(await lookup.reread(record));
  }

  return {
    async rotate(input) {
      const record = await lookup.requireKey(input.id, input.keystore);
      if (!LIVE.includes(record.status)) refuse(record, 'rotate it');
      const rotated = await material.addVersion(record);
      if (!rotated) throw conflict(`key "${record.externalId}" was rotated by someone else meanwhile; look at it again`);
      return views.view(rotated);
    },

    async setRotationPolicy(input) {
      if (input.days !== null && (!Number.isInteger(input.days) || input.days < 1 || input.days > MAX_ROTATION_DAYS)) {
        throw invalid(`the rotation period must be 1 to ${MAX_ROTATION_DAYS} days, or off (got ${input.days})`);
      }
      const days = input.days;
      return transition(input, LIVE, 'change its rotation policy', () =>
        days === null
          ? { rotationPeriodDays: null, nextRotationAt: null }
          : { rotationPeriodDays: days, nextRotationAt: daysAfter(clock.now(), days) },
      );
    },

    async listVersions(input) {
      const record = await lookup.requireKey(input.id, input.keystore);
      return (await keyStore.listKeyVersions(record.id)).map((v) => versionView(record, v));
    },

    async setMinDecryptVersion(input) {
      const record = await lookup.requireKey(input.id, input.keystore);
      if (!Number.isInteger(input.version) || input.version < 1 || input.version > record.currentVersion) {
        throw invalid(`the minimum decryption version must be 1 to ${record.currentVersion}, the current version (got ${input.version})`);
      }
      return transition(input, LIVE, 'change its minimum decryption version', () => ({ minDecryptVersion: input.version }));
    },

    async revokeVersion(input) {
      const { record, version } = await requireOldVersion(input, 'revoke a version');
      if (version.state !== 'ENABLED')
        throw conflict(`version ${version.version} of key "${record.externalId}" is already ${version.state.toLowerCase()}`);
      const applied = await keyStore.updateKeyVersion(record.id, version.version, { state: 'REVOKED', revokedAt: clock.now() }, [
        'ENABLED',
      ]);
      if (!applied) throw conflict(`version ${version.version} of key "${record.externalId}" changed while this ran; look at it again`);
      const fresh = await touch(record);
      return versionView(fresh, { ...version, state: 'REVOKED', revokedAt: clock.now() });
    },

    async destroyVersion(input) {
      const { record, version } = await requireOldVersion(input, 'destroy a version');
      if (version.state === 'DESTROYED') throw conflict(`version ${version.version} of key "${record.externalId}" is already destroyed`);
      if (version.state !== 'REVOKED' && version.version >= record.minDecryptVersion) {
        throw conflict(
          `version ${version.version} of key "${record.externalId}" still decrypts; revoke it (or raise the minimum decryption version) first`,
        );
      }
      liveKeys.withdrawVersion(record, version.version);
      await material.eraseVersion(record, version);
      const fresh = await touch(record);
      return versionView(fresh, await requireVersion(fresh, version.version));
    },
  };
}
