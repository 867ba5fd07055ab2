import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { createKeyService, type KeyService } from '../keys/service.js';
import { createKeystoreService, type KeystoreService } from '../keystores/service.js';
import { LiveState } from '../registry/live-state.js';
import { openRootOfTrust } from '../roots/open-root.js';
import type { RootEventListener, RootOfTrust } from '../roots/root-of-trust.js';
import { openStore } from '../storage/open-store.js';
import type { Store } from '../storage/store.js';
import type { DataDirPaths } from './data-dir.js';

export interface Services {
  store: Store;
  root: RootOfTrust;
  live: LiveState;
  keystores: KeystoreService;
  keys: KeyService;
  close(): Promise<void>;
}

/** The composition root of the management side: store, root of trust, live state and services. */
export async function openServices(options: { paths: DataDirPaths; databaseUrl?: string; clock: Clock; onRootEvent?: RootEventListener }): Promise<Services> {
  const root = await openRootOfTrust(options.paths, undefined, options.onRootEvent);
  let store: Store;
  try {
    store = await openStore({ databaseUrl: options.databaseUrl, sqlitePath: options.paths.database });
  } catch (error) {
    await root.close();
    throw error;
  }
  const live = new LiveState();
  const deps = { store, root, live, clock: options.clock, newId: randomUUID };
  return {
    store,
    root,
    live,
    keystores: createKeystoreService(deps),
    keys: createKeyService(deps),
    async close() {
      await store.close();
      await root.close();
    },
  };
}
