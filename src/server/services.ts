import { randomUUID } from 'node:crypto';
import { createAccessService } from '../access/create-service.js';
import type { AccessService } from '../access/service.js';
import { createAccessStore } from '../access/sql-access-store.js';
import { createLoginAttemptStore } from '../access/sql-login-attempt-store.js';
import { createDeferredAdminEventSink, type DeferredAdminEventSink } from '../audit/admin-events.js';
import { createApprovalGate } from '../approvals/create-gate.js';
import type { ApprovalGate } from '../approvals/gate.js';
import { createApprovalStore } from '../approvals/sql-approval-store.js';
import { defineApprovalExecutors } from '../approvals/executors.js';
import type { Clock } from '../core/clock.js';
import type { ChangeStore } from '../fleet/change-store.js';
import { createChangeStore } from '../fleet/sql-change-store.js';
import { createKeyStore } from '../keys/sql-key-store.js';
import type { KeyStore } from '../keys/key-store.js';
import { createKeyService, type KeyService } from '../keys/service.js';
import { createKillSwitch } from '../kill-switch/create-kill-switch.js';
import type { KillSwitch } from '../kill-switch/kill-switch.js';
import { createKillSwitchStore } from '../kill-switch/sql-kill-switch-store.js';
import type { KeystoreService } from '../keystores/keystore-service.js';
import type { KeystoreStore } from '../keystores/keystore-store.js';
import { createKeystoreService } from '../keystores/service.js';
import { createKeystoreStore } from '../keystores/sql-keystore-store.js';
import { PolicyRegistry } from '../policies/authorizer.js';
import { createPolicyService } from '../policies/create-service.js';
import type { PolicyService } from '../policies/service.js';
import { createPolicyStore } from '../policies/sql-policy-store.js';
import { createLiveState, type LiveState } from '../registry/live-state.js';
import { openRootOfTrust } from '../roots/open-root.js';
import { readRootConfig } from '../roots/root-config.js';
import type { RootEventListener, RootOfTrust } from '../roots/root-of-trust.js';
import { openSecretSealer } from '../roots/secret-sealer.js';
import type { DatabaseConnection } from '../storage/connection.js';
import { openDatabase } from '../storage/open-database.js';
import type { DataDirPaths } from '../core/data-dir.js';

export interface Services {
  /** The open database; feature stores are built on it. */
  database: DatabaseConnection;
  /** The fleet's change sequence (migration 0008_changes): the key sync and the change follower read it. */
  changes: ChangeStore;
  /** Groups, keystores and credentials. */
  keystoreStore: KeystoreStore;
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
  adminEvents: DeferredAdminEventSink;
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
  let database: DatabaseConnection;
  let secretSealer;
  try {
    secretSealer = openSecretSealer(options.paths, config, root);
    database = await openDatabase({ databaseUrl: options.databaseUrl, sqlitePath: options.paths.database });
  } catch (error) {
    await root.close();
    throw error;
  }
  const keystoreStore = createKeystoreStore(database);
  const keyStore = createKeyStore(database);
  const live = createLiveState();
  // Management actions reach the audit log once the node has opened it (node.ts connects it).
  const adminEvents = createDeferredAdminEventSink();
  const policyRegistry = new PolicyRegistry();
  const keystores = createKeystoreService({ keystoreStore, root, secretSealer, live, clock: options.clock, newId: randomUUID });
  const changes = createChangeStore(database);
  const keys = createKeyService({ keyStore, directory: keystoreStore, root, live, clock: options.clock, newId: randomUUID, changes });
  const access = createAccessService({
    store: createAccessStore(database),
    loginAttempts: createLoginAttemptStore(database),
    clock: options.clock,
    newId: randomUUID,
    events: adminEvents,
  });
  const approvals = createApprovalGate({
    store: createApprovalStore(database),
    groups: keystoreStore,
    clock: options.clock,
    newId: randomUUID,
    userRoles: access.rolesOf,
    userExists: access.userExists,
    events: adminEvents,
  });
  const policies = createPolicyService({
    store: createPolicyStore(database),
    directory: { keystores: keystoreStore, keys: keyStore },
    live,
    registry: policyRegistry,
    clock: options.clock,
    newId: randomUUID,
    events: adminEvents,
  });
  defineApprovalExecutors(approvals, { keys, keystores, access, policies });
  return {
    database,
    changes,
    keystoreStore,
    keyStore,
    root,
    live,
    keystores,
    keys,
    access,
    approvals,
    policyRegistry,
    policies,
    killSwitch: createKillSwitch({ store: createKillSwitchStore(database), clock: options.clock }),
    adminEvents,
    async close() {
      await database.close();
      await root.close();
    },
  };
}
