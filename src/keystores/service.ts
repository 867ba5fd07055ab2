import type { Clock } from '../core/clock.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import { validateReason } from '../keys/attributes.js';
import type { Keystore, KeystoreQuota, StoredCredential } from '../domain/types.js';
import type { LiveState } from '../registry/live-state.js';
import { sealContext, type RootOfTrust, type SecretSealer } from '../roots/root-of-trust.js';
import { translateStoreError } from '../storage/translate-error.js';
import type { Store } from '../storage/store.js';
import { generateAccessKeyId, generateSecret, validateAccessKeyId, validateSecret } from './credentials.js';
import { normalizePrefix, uriPathFor } from './prefix.js';
import { validateQuota } from './quota.js';

export interface KeystoreServiceDeps {
  store: Store;
  root: RootOfTrust;
  /** Seals the SigV4 credential secrets; the root itself unless given (Shamir: the credential key). */
  secretSealer?: SecretSealer;
  live: LiveState;
  clock: Clock;
  newId: () => string;
}

export interface NewCredential {
  accessKeyId: string;
  /** Shown once, to whoever created it. */
  secret: string;
}

export interface KeystoreView {
  name: string;
  prefix: string;
  uriPath: string;
  region: string;
  group: string;
  status: Keystore['status'];
  blockReason?: string;
  /** Its request quota on each node; absent when it has none. */
  quota?: KeystoreQuota;
  createdAt: string;
  credentials: { accessKeyId: string; createdAt: string }[];
}

/** The KMS console configuration file (xks-spec.md §13). */
export interface KmsConsoleJson {
  XksProxyUriPath: string;
  XksProxyAuthenticationCredential: { AccessKeyId: string; RawSecretAccessKey: string };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export function createKeystoreService({ store, root, secretSealer = root, live, clock, newId }: KeystoreServiceDeps) {
  async function sealCredential(keystoreId: string, credential: NewCredential): Promise<StoredCredential> {
    return {
      accessKeyId: credential.accessKeyId,
      keystoreId,
      sealedSecret: await secretSealer.sealSecret(
        Buffer.from(credential.secret, 'utf8'),
        sealContext.credentialSecret(credential.accessKeyId),
      ),
      createdAt: clock.now(),
    };
  }

  function credentialFrom(input: { accessKeyId?: string; secret?: string }): NewCredential {
    if ((input.accessKeyId === undefined) !== (input.secret === undefined)) {
      throw invalid('give both an access key id and a secret, or neither to generate a credential');
    }
    const credential = { accessKeyId: input.accessKeyId ?? generateAccessKeyId(), secret: input.secret ?? generateSecret() };
    validateAccessKeyId(credential.accessKeyId);
    validateSecret(credential.secret);
    return credential;
  }

  async function requireKeystore(name: string): Promise<Keystore> {
    const keystore = await store.getKeystoreByName(name);
    if (!keystore) throw notFound(`no keystore named "${name}"`);
    return keystore;
  }

  async function view(keystore: Keystore): Promise<KeystoreView> {
    const group = await store.getGroup(keystore.groupId);
    const credentials = await store.listCredentials(keystore.id);
    return {
      name: keystore.name,
      prefix: keystore.prefix,
      uriPath: uriPathFor(keystore.prefix),
      region: keystore.region,
      group: group?.name ?? keystore.groupId,
      status: keystore.status,
      blockReason: keystore.blockReason,
      quota: keystore.quota,
      createdAt: new Date(keystore.createdAt).toISOString(),
      credentials: credentials.map((c) => ({ accessKeyId: c.accessKeyId, createdAt: new Date(c.createdAt).toISOString() })),
    };
  }

  async function refreshLive(keystore: Keystore): Promise<void> {
    const secrets = new Map<string, string>();
    for (const credential of await store.listCredentials(keystore.id)) {
      secrets.set(
        credential.accessKeyId,
        (await secretSealer.unsealSecret(credential.sealedSecret, sealContext.credentialSecret(credential.accessKeyId))).toString('utf8'),
      );
    }
    live.putKeystore(keystore, secrets);
  }

  return {
    async create(input: {
      name: string;
      prefix: string;
      region?: string;
      group?: string;
      accessKeyId?: string;
      secret?: string;
    }): Promise<{ keystore: KeystoreView; credential: NewCredential }> {
      if (!NAME.test(input.name))
        throw invalid('keystore name must be 1-63 characters of A-Z a-z 0-9 . _ - starting with a letter or digit');
      const prefix = normalizePrefix(input.prefix);
      const region = input.region ?? 'us-east-1';
      if (!REGION.test(region)) throw invalid(`"${region}" is not an AWS region name such as us-east-1`);
      const credential = credentialFrom(input);
      const groupName = input.group ?? input.name;
      if (!NAME.test(groupName)) throw invalid('group name must be 1-63 characters of A-Z a-z 0-9 . _ -');
      if (await store.getKeystoreByName(input.name)) throw conflict(`keystore "${input.name}" already exists`);
      const clash = (await store.listKeystores()).find((k) => k.prefix === prefix);
      if (clash) throw conflict(`prefix "${prefix || '/'}" is already used by keystore "${clash.name}"`);
      if (await store.getCredential(credential.accessKeyId)) {
        throw conflict(`access key id ${credential.accessKeyId} is already in use`);
      }

      const keystore: Keystore = {
        id: newId(),
        name: input.name,
        prefix,
        region,
        groupId: '',
        status: 'ENABLED',
        createdAt: clock.now(),
      };
      await translateStoreError(async () => {
        let group = await store.getGroupByName(groupName);
        if (!group) {
          group = { id: newId(), name: groupName, createdAt: clock.now() };
          await store.createGroup(group);
        }
        keystore.groupId = group.id;
        await store.createKeystore(keystore, await sealCredential(keystore.id, credential));
      });
      await refreshLive(keystore);
      return { keystore: await view(keystore), credential };
    },

    async list(): Promise<KeystoreView[]> {
      return Promise.all((await store.listKeystores()).map(view));
    },

    async show(name: string): Promise<KeystoreView> {
      return view(await requireKeystore(name));
    },

    /**
     *= xks-spec.md#14.9
     *# 86. [SHOULD] Accept two or more SigV4 credential sets at once per path prefix.
     *# 87. [SHOULD] Apply credential changes without restart or disconnection (hot reload).
     */
    async addCredential(name: string, input: { accessKeyId?: string; secret?: string }): Promise<NewCredential> {
      const keystore = await requireKeystore(name);
      const credential = credentialFrom(input);
      const stored = await sealCredential(keystore.id, credential);
      await translateStoreError(() => store.addCredential(stored));
      await refreshLive(keystore);
      return credential;
    },

    async removeCredential(name: string, accessKeyId: string): Promise<void> {
      const keystore = await requireKeystore(name);
      await translateStoreError(() => store.removeCredential(keystore.id, accessKeyId));
      await refreshLive(keystore);
    },

    /** Enables or disables every XKS operation of a keystore, effective on the next request. */
    async setStatus(name: string, status: 'ENABLED' | 'DISABLED'): Promise<KeystoreView> {
      const keystore = await requireKeystore(name);
      if (keystore.status === 'BLOCKED')
        throw conflict(`keystore "${name}" is blocked (${keystore.blockReason ?? 'no reason given'}); unblock it first`);
      await translateStoreError(() => store.setKeystoreStatus(keystore.id, status));
      const updated = { ...keystore, status };
      live.updateKeystore(updated);
      return view(updated);
    },

    /** The keystore's kill switch: every XKS operation through it answers InvalidStateException, from the next request. */
    async block(input: { name: string; reason: string }): Promise<KeystoreView> {
      const reason = validateReason(input.reason);
      const keystore = await requireKeystore(input.name);
      await translateStoreError(() => store.setKeystoreStatus(keystore.id, 'BLOCKED', reason));
      const updated: Keystore = { ...keystore, status: 'BLOCKED', blockReason: reason };
      live.updateKeystore(updated);
      return view(updated);
    },

    /** Lifts the keystore's kill switch; the keystore is ENABLED again. */
    async unblock(input: { name: string }): Promise<KeystoreView> {
      const keystore = await requireKeystore(input.name);
      if (keystore.status !== 'BLOCKED') throw conflict(`keystore "${input.name}" is not blocked`);
      await translateStoreError(() => store.setKeystoreStatus(keystore.id, 'ENABLED'));
      const { blockReason: _cleared, ...rest } = keystore;
      const updated: Keystore = { ...rest, status: 'ENABLED' };
      live.updateKeystore(updated);
      return view(updated);
    },

    /**
     * Sets the keystore's request quota (`rps` a second, `burst` at once; burst defaults to one second's
     * worth), or removes it with `undefined`. Enforced on each node separately, from the next request here
     * and from the next scheduler pass on the other nodes of a fleet (enforced in src/throttle/admission.ts).
     */
    async setQuota(name: string, input: { rps: unknown; burst?: unknown } | undefined): Promise<KeystoreView> {
      const quota = input === undefined ? undefined : validateQuota(input);
      const keystore = await requireKeystore(name);
      await translateStoreError(() => store.setKeystoreQuota(keystore.id, quota));
      const { quota: _previous, ...rest } = keystore;
      const updated: Keystore = quota ? { ...rest, quota } : rest;
      live.updateKeystore(updated);
      return view(updated);
    },

    /**
     * Reveals a secret: only for the KMS console file an operator downloads.
     *
     *= xks-spec.md#14.10
     *# 102. [SHOULD] A proxy with a UI lets authorized users download the KMS console JSON configuration file.
     */
    async kmsConsoleJson(name: string, accessKeyId?: string): Promise<KmsConsoleJson> {
      const keystore = await requireKeystore(name);
      const credentials = await store.listCredentials(keystore.id);
      const credential = accessKeyId
        ? credentials.find((c) => c.accessKeyId === accessKeyId)
        : credentials.reduce<StoredCredential | undefined>(
            (newest, c) => (!newest || c.createdAt > newest.createdAt ? c : newest),
            undefined,
          );
      if (!credential) throw notFound(`keystore "${name}" has no credential ${accessKeyId ?? ''}`.trim());
      return {
        XksProxyUriPath: uriPathFor(keystore.prefix),
        XksProxyAuthenticationCredential: {
          AccessKeyId: credential.accessKeyId,
          RawSecretAccessKey: (
            await secretSealer.unsealSecret(credential.sealedSecret, sealContext.credentialSecret(credential.accessKeyId))
          ).toString('utf8'),
        },
      };
    },

    /**
     * Picks up status changes (enable, disable, block) and quota changes other nodes of a fleet made: one
     * query. New keystores and credentials still reach a node when it starts.
     */
    async syncStatus(): Promise<void> {
      for (const keystore of await store.listKeystores()) {
        const current = live.keystoreByPrefix(keystore.prefix)?.keystore;
        if (
          current &&
          current.id === keystore.id &&
          (current.status !== keystore.status || current.blockReason !== keystore.blockReason || !sameQuota(current.quota, keystore.quota))
        ) {
          live.updateKeystore(keystore);
        }
      }
    },

    /** When each keystore's SigV4 credentials were created, without their secrets (metrics: credential age). */
    async credentialTimes(): Promise<{ keystore: string; accessKeyId: string; createdAt: number }[]> {
      const names = new Map((await store.listKeystores()).map((k) => [k.id, k.name]));
      return (await store.listCredentials()).flatMap((c) => {
        const keystore = names.get(c.keystoreId);
        return keystore === undefined ? [] : [{ keystore, accessKeyId: c.accessKeyId, createdAt: c.createdAt }];
      });
    },

    /** Loads every keystore and its secrets into the live state (node start). */
    async loadAll(): Promise<void> {
      for (const keystore of await store.listKeystores()) await refreshLive(keystore);
    },
  };
}

function sameQuota(a: KeystoreQuota | undefined, b: KeystoreQuota | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.rps === b.rps && a.burst === b.burst);
}

export type KeystoreService = ReturnType<typeof createKeystoreService>;
