/**
 * The key service on a real database, for the suites of test/keys: each "node" has its own live state
 * and services over one shared database (as the nodes of a fleet have), on the software root of trust,
 * noting which references it was asked to destroy (it has nothing to erase itself).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { ManualClock } from '../../src/core/clock.js';
import type { KeyRecord } from '../../src/domain/types.js';
import type { KeyStore } from '../../src/keys/key-store.js';
import { createKeyStore } from '../../src/keys/sql-key-store.js';
import { createChangeStore } from '../../src/fleet/sql-change-store.js';
import { createKeyService, type KeyService } from '../../src/keys/service.js';
import type { KeystoreService } from '../../src/keystores/keystore-service.js';
import { createKeystoreService } from '../../src/keystores/service.js';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import { createLiveState, type LiveState } from '../../src/registry/live-state.js';
import type { RootOfTrust } from '../../src/roots/root-of-trust.js';
import { createSoftwareRoot } from '../../src/roots/software-root.js';
import type { DatabaseConnection } from '../../src/storage/connection.js';
import { suiteDatabase, type DialectTarget } from './dialects.js';

const masterKey = randomBytes(32);

/** The software root over one master key shared by every node, noting `context:length` of each reference it destroys. */
export interface RecordingRoot extends RootOfTrust {
  destroyed: string[];
}

export function recordingRoot(): RecordingRoot {
  const root = createSoftwareRoot(masterKey);
  const destroyed: string[] = [];
  return {
    ...root,
    destroyed,
    destroyKeyMaterial(reference, context) {
      destroyed.push(`${context}:${reference.length}`);
      return Promise.resolve();
    },
  };
}

export interface KeyNode {
  root: RecordingRoot;
  live: LiveState;
  keyStore: KeyStore;
  keys: KeyService;
  keystores: KeystoreService;
}

/** A node over `store`'s database; `wrapRoot` changes its root's behaviour (e.g. a destroy that fails). */
export function keyNodeOn(store: DatabaseConnection, clock: ManualClock, wrapRoot = (root: RecordingRoot) => root): KeyNode {
  const nodeRoot = wrapRoot(recordingRoot());
  const live = createLiveState();
  const keyStore = createKeyStore(store);
  const keystoreStore = createKeystoreStore(store);
  const deps = { root: nodeRoot, live, clock, newId: randomUUID };
  return {
    root: nodeRoot,
    live,
    keyStore,
    keys: createKeyService({ ...deps, keyStore, directory: keystoreStore, changes: createChangeStore(store) }),
    keystores: createKeystoreService({ ...deps, keystoreStore }),
  };
}

/** A database with keystore "ks" and a node on it, for one `describe` (its hooks open and close them). */
export interface KeyTestDatabase {
  readonly store: DatabaseConnection;
  readonly node: KeyNode;
  /** Creates a key with a new id in keystore "ks" and returns the id. */
  freshKey(extra?: Record<string, unknown>): Promise<string>;
  /** The stored record of a customer key, by external id. */
  record(externalId: string): Promise<KeyRecord>;
}

/** Registers the `before` and `after` hooks of the calling `describe` and returns what they open. */
export function useKeyTestDatabase(target: DialectTarget, clock: ManualClock): KeyTestDatabase {
  let node: KeyNode | undefined;
  let n = 0;
  const store = suiteDatabase(target, async (opened) => {
    node = keyNodeOn(opened, clock);
    await node.keystores.create({ name: 'ks', prefix: '/ks' });
  });
  const currentNode = () => node ?? assert.fail('the key test database is used outside its describe');

  return {
    get store() {
      return store();
    },
    get node() {
      return currentNode();
    },
    async freshKey(extra = {}) {
      const id = `key-${++n}`;
      await currentNode().keys.create({ id, keystore: 'ks', ...extra });
      return id;
    },
    async record(externalId) {
      const found = (await currentNode().keyStore.listKeys()).find((k) => k.externalId === externalId);
      return found ?? assert.fail(`no key "${externalId}" in the database`);
    },
  };
}
