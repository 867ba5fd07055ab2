import type { Logger } from 'pino';
import type { AdminEventSink } from '../audit/admin-events.js';
import type { KeyCanary } from '../keys/canary.js';
import type { KeyLiveSync } from '../keys/live-sync.js';
import { RootSealedError, type DataKey, type RootOfTrust } from '../roots/root-of-trust.js';
import { createUnsealService, type UnsealService } from './service.js';

export interface KeyAccess {
  unseal: UnsealService;
  /** The health canary; rejects with RootSealedError until the keys are open. */
  readonly canary: () => Promise<DataKey>;
}

/**
 * Opens every key and the health canary now, or, on a node whose root of trust is sealed (Shamir),
 * as soon as the key custodians have entered enough shares. `onOpened` runs each time keys open
 * (e.g. to drop a cached health result).
 */
export async function openKeysWhenUnsealed(deps: {
  root: RootOfTrust;
  /** Loads the keys into the live state and opens the canary. */
  keys: KeyLiveSync & KeyCanary;
  events: AdminEventSink;
  logger: Logger;
  onOpened: () => void;
}): Promise<KeyAccess> {
  const { root, keys, events, logger, onOpened } = deps;
  let canary: DataKey | undefined;
  const openKeys = async () => {
    await keys.loadAll();
    canary = await keys.ensureCanary();
    onOpened();
  };
  const unseal = createUnsealService({
    root,
    events,
    onUnsealed: async () => {
      await openKeys();
      logger.info({ event: 'node.unsealed' }, 'unsealed: keys are open, the node serves crypto');
    },
  });
  if (unseal.serving()) await openKeys();
  else {
    const { threshold, shares } = unseal.status();
    logger.warn(
      { event: 'node.sealed', threshold, shares },
      `the node is sealed: ${threshold} of ${shares} key custodians must each run \`keyhold unseal\` (or POST /api/v1/unseal) before it serves crypto`,
    );
  }
  return {
    unseal,
    canary: () => (canary ? Promise.resolve(canary) : Promise.reject(new RootSealedError())),
  };
}
