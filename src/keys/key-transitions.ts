import type { Clock } from '../core/clock.js';
import { conflict } from '../core/errors.js';
import type { KeyRecord, KeyStatus } from '../domain/types.js';
import { translateStoreError } from '../storage/translate-error.js';
import type { KeyChanges, KeyStore } from './key-store.js';
import type { KeyLookup, KeyRef } from './key-lookup.js';
import type { KeyView, KeyViews } from './key-views.js';
import { iso } from './key-views.js';
import type { LiveKeys } from './live-keys.js';

/** The statuses of a key that is neither pending deletion nor destroyed: it can be changed, rotated, blocked. */
export const LIVE: readonly KeyStatus[] = ['ENABLED', 'DISABLED', 'BLOCKED'];

/** Says why a key in its status cannot take `action`, as one line. */
export function refuse(record: KeyRecord, action: string): never {
  const name = `key "${record.externalId}"`;
  switch (record.status) {
    case 'DESTROYED':
      throw conflict(`${name} is destroyed; cannot ${action}`);
    case 'PENDING_DELETION':
      throw conflict(`${name} is pending deletion (on ${iso(record.deletionDate)}); cancel the deletion first to ${action}`);
    case 'BLOCKED':
      throw conflict(`${name} is blocked (${record.blockReason ?? 'no reason given'}); unblock it first to ${action}`);
    default:
      throw conflict(`${name} is ${record.status.toLowerCase()}; cannot ${action}`);
  }
}

/** Changes to a key's row that depend on its status (the lifecycle's state machine). */
export interface KeyTransitions {
  /**
   * Applies `changes` to a key found in one of `from`, compare-and-set on its status (a racing change,
   * such as the scheduler destroying it, makes this one fail with a clear message rather than undo it),
   * then publishes it. `action` completes the refusal, e.g. "unblock it".
   */
  readonly transition: (
    ref: KeyRef,
    from: readonly KeyStatus[],
    action: string,
    changes: (record: KeyRecord) => KeyChanges,
  ) => Promise<KeyView>;
}

export function createKeyTransitions(deps: {
  keyStore: KeyStore;
  clock: Clock;
  lookup: KeyLookup;
  views: KeyViews;
  liveKeys: LiveKeys;
}): KeyTransitions {
  const { keyStore, clock, lookup, views, liveKeys } = deps;
  return {
    async transition(ref, from, action, changes) {
      const record = await lookup.requireKey(ref.id, ref.keystore);
      if (!from.includes(record.status)) refuse(record, action);
      const applied = await translateStoreError(() =>
        keyStore.updateKey(record.id, changes(record), clock.now(), { status: [record.status] }),
      );
      if (!applied) throw conflict(`key "${record.externalId}" changed while this ran; look at it again and retry`);
      return views.view(await liveKeys.publish(await lookup.reread(record)));
    },
  };
}
