import type { Clock } from '../core/clock.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import type { KeyUsage } from '../domain/types.js';
import { daysAfter, validateDescription, validateNewKey, validateReason, validateTags } from './attributes.js';
import { refuseDestroyedId, type KeyLookup, type KeyRef } from './key-lookup.js';
import type { KeyMaterial } from './key-material.js';
import type { KeyStore } from './key-store.js';
import { LIVE, type KeyTransitions } from './key-transitions.js';
import type { KeyView, KeyViews } from './key-views.js';

export const MIN_DELETION_DAYS = 7;
export const MAX_DELETION_DAYS = 30;

/** What a new key is made of (`keyhold key create`, POST /api/v1/keys). */
export interface NewKey {
  id: string;
  keystore: string;
  usage?: KeyUsage[];
  description?: string;
  tags?: Record<string, string>;
}

/**
 * A key's life as operators drive it (docs/rotation.md): creating and reading keys, and the state
 * machine ENABLED ⇄ DISABLED, BLOCKED (the key's kill switch), PENDING_DELETION (then DESTROYED by the
 * scheduler), with the key's tags and description. Every change is compare-and-set on the key's status
 * and effective on the data plane from the next request. Lifecycle methods take `{ id, keystore }` so
 * approvals can replay them; refusals are one-line ManagementErrors.
 */
export interface KeyLifecycle {
  readonly create: (input: NewKey) => Promise<KeyView>;
  /** Every customer key, or those of one keystore's group. */
  readonly list: (keystoreName?: string) => Promise<KeyView[]>;
  readonly show: (externalId: string, keystoreName?: string) => Promise<KeyView>;
  /** Takes `{ id, keystore }` (as every lifecycle method, for approvals to replay) or the id and keystore. */
  readonly enable: (key: KeyRef | string, keystoreName?: string) => Promise<KeyView>;
  readonly disable: (key: KeyRef | string, keystoreName?: string) => Promise<KeyView>;
  /** The key's kill switch: every XKS crypto operation answers InvalidStateException until unblocked. */
  readonly block: (input: KeyRef & { reason: string }) => Promise<KeyView>;
  /** Lifts the key's kill switch; the key is ENABLED again. */
  readonly unblock: (input: KeyRef) => Promise<KeyView>;
  /** Destroys the key after `days` (7–30) days unless cancelled; until then it does no crypto. */
  readonly scheduleDeletion: (input: KeyRef & { days: number }) => Promise<KeyView>;
  /** Cancels a scheduled deletion; the key comes back DISABLED (enable it on purpose), as in AWS KMS. */
  readonly cancelDeletion: (input: KeyRef) => Promise<KeyView>;
  /** Sets tags (`set`) and removes others (`remove`, each must exist). */
  readonly setTags: (input: KeyRef & { set?: Record<string, string>; remove?: string[] }) => Promise<KeyView>;
  readonly describe: (input: KeyRef & { description: string }) => Promise<KeyView>;
}

const refOf = (key: KeyRef | string, keystore?: string): KeyRef => (typeof key === 'string' ? { id: key, keystore } : key);

export function createKeyLifecycle(deps: {
  keyStore: KeyStore;
  clock: Clock;
  lookup: KeyLookup;
  views: KeyViews;
  material: KeyMaterial;
  transitions: KeyTransitions;
}): KeyLifecycle {
  const { keyStore, clock, lookup, views, material } = deps;
  const { transition } = deps.transitions;

  return {
    async create(input) {
      validateNewKey(input);
      const keystore = await lookup.requireKeystore(input.keystore);
      const existing = await keyStore.getKey(keystore.groupId, input.id);
      refuseDestroyedId(existing, input.id);
      if (existing) throw conflict(`key "${input.id}" already exists in keystore "${input.keystore}"`);
      return views.view(await material.insertKey(keystore.groupId, input.id, input.usage ?? ['ENCRYPT', 'DECRYPT'], false, input));
    },

    async list(keystoreName) {
      const groupId = keystoreName === undefined ? undefined : (await lookup.requireKeystore(keystoreName)).groupId;
      return views.views(await keyStore.listKeys(groupId));
    },

    async show(externalId, keystoreName) {
      return views.view(await lookup.requireKey(externalId, keystoreName));
    },

    enable: (key, keystoreName) =>
      transition(refOf(key, keystoreName), ['ENABLED', 'DISABLED'], 'enable it', () => ({ status: 'ENABLED' })),
    disable: (key, keystoreName) =>
      transition(refOf(key, keystoreName), ['ENABLED', 'DISABLED'], 'disable it', () => ({ status: 'DISABLED' })),

    async block(input) {
      const reason = validateReason(input.reason);
      return transition(input, LIVE, 'block it', () => ({ status: 'BLOCKED', blockReason: reason }));
    },

    unblock: (input) => transition(input, ['BLOCKED'], 'unblock it', () => ({ status: 'ENABLED', blockReason: null })),

    async scheduleDeletion(input) {
      if (!Number.isInteger(input.days) || input.days < MIN_DELETION_DAYS || input.days > MAX_DELETION_DAYS) {
        throw invalid(`the waiting period must be ${MIN_DELETION_DAYS} to ${MAX_DELETION_DAYS} days (got ${input.days})`);
      }
      return transition(input, LIVE, 'schedule its deletion', () => ({
        status: 'PENDING_DELETION',
        deletionDate: daysAfter(clock.now(), input.days),
        blockReason: null,
      }));
    },

    cancelDeletion: (input) =>
      transition(input, ['PENDING_DELETION'], 'cancel its deletion', () => ({ status: 'DISABLED', deletionDate: null })),

    async setTags(input) {
      const record = await lookup.requireKey(input.id, input.keystore);
      const tags = { ...record.tags, ...(input.set ?? {}) };
      for (const name of input.remove ?? []) {
        if (!(name in tags)) throw notFound(`key "${record.externalId}" has no tag ${JSON.stringify(name)}`);
        delete tags[name];
      }
      validateTags(tags);
      return transition(input, [...LIVE, 'PENDING_DELETION'], 'change its tags', () => ({ tags }));
    },

    async describe(input) {
      validateDescription(input.description);
      return transition(input, [...LIVE, 'PENDING_DELETION'], 'change its description', () => ({ description: input.description }));
    },
  };
}
