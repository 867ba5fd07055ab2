import { randomUUID } from 'node:crypto';
import { createAccessService, type AccessService } from '../access/service.js';
import { createDeferredAdminEventSink } from '../audit/admin-events.js';
import { createApprovalGate, type ApprovalGate } from '../approvals/gate.js';
import { defineApprovalExecutors } from '../approvals/executors.js';
import type { Clock } from '../core/clock.js';
import { createKeyStore } from '../keys/kysely-key-store.js';
import type { KeyStore } from '../keys/key-store.js';
import { createKeyService, type KeyService } from '../keys/service.js';
import { createKillSwitch, type KillSwitch } from '../kill-switch/kill-switch.js';
import { createKeystoreService, type KeystoreService } from '../keystores/service.js';
import { PolicyRegistry } from '../policies/authorizer.js';
import { createPolicyService, type PolicyService } from '../policies/service.js';
import { createLiveState, type LiveState } from '../registry/live-state.js';
import { openRootOfTrust } from '../roots/open-root.js';
import { readRootConfig } from '../roots/root-config.js';
import type { RootEventListener, RootOfTrust } from '../roots/root-of-trust.js';
import { openSecretSealer } from '../roots/secret-sealer.js';
import { openStore } from '../storage/open-store.js';
import type { Store } from '../storage/store.js';
import type { DataDirPaths } from './data-dir.js';

export interface Services {
  store: Store;
  /** Keys, key versions and import wrapping keys (the keys feature's store). */
  keyStore: KeyStore;
  root: RootOfTrust;
  live: LiveState;
  keystores: KeystoreService;
  keys: KeyService;
  access: AccessService;
  approvals: ApprovalGate;
  /** Compiled policies the XKS authorizer reads; `policies` keeps it current. */
  policyRegistry: PolicyRegistry;
  policies: PolicyService;
  killSwitch: KillSwitch;
  /** Where management actions are recorded; connected to the audit log when a node starts. */
  adminEvents: ReturnType<typeof createDeferredAdminEventSink>;
  close(): Promise<void>;
}

/** The composition root of the management side: store, root of trust, live state and services. */
export async function openServices(options: {
  paths: DataDirPaths;
  databaseUrl?: string;
  clock: Clock;
  /** An already open root (init of a Shamir node: the master key before it is split away). */
  root?: RootOfTrust;
  onRootEvent?: RootEventListener;
}): Promise<Services> {
  const config = readRootConfig(options.paths.rootConfig);
  const root = options.root ?? (await openRootOfTrust(options.paths, config, options.onRootEvent));
  let store: Store;
  let secretSealer;
  try {
    secretSealer = openSecretSealer(options.paths, config, root);
    store = await openStore({ databaseUrl: options.databaseUrl, sqlitePath: options.paths.database });
  } catch (error) {
    await root.close();
    throw error;
  }
  const live = createLiveState();
  const keyStore = createKeyStore(store.connection);
  const deps = { store, keyStore, root, live, clock: options.clock, newId: randomUUID };
  // Management actions reach the audit log once the node has opened it (node.ts connects it).
  const adminEvents = createDeferredAdminEventSink();
  const policyRegistry = new PolicyRegistry();
  const keystores = createKeystoreService({ ...deps, secretSealer });
  const keys = createKeyService({ ...deps, directory: store });
  const access = createAccessService({ ...deps, events: adminEvents });
  const approvals = createApprovalGate({ ...deps, userRoles: access.rolesOf, userExists: access.userExists, events: adminEvents });
  const policies = createPolicyService({ ...deps, registry: policyRegistry, events: adminEvents });
  defineApprovalExecutors(approvals, { keys, keystores, access, policies });
  return {
    store,
    keyStore,
    root,
    live,
    keystores,
    keys,
    access,
    approvals,
    policyRegistry,
    policies,
    killSwitch: createKillSwitch({ store, clock: options.clock }),
    adminEvents,
    async close() {
      await store.close();
      await root.close();
    },
  };
}
