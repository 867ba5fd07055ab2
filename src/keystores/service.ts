import type { Clock } from '../core/clock.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import { validateReason } from '../keys/attributes.js';
import type { Keystore, StoredCredential } from '../domain/types.js';
import type { LiveState } from '../registry/live-state.js';
import { sealContext, type RootOfTrust, type SecretSealer } from '../roots/root-of-trust.js';
import { translateStoreError } from '../storage/translate-error.js';
import { generateAccessKeyId, generateSecret, validateAccessKeyId, validateSecret } from './credentials.js';
import type { KeystoreService, KeystoreView, NewCredential } from './keystore-service.js';
import type { KeystoreStore } from './keystore-store.js';
import { normalizePrefix, uriPathFor } from './prefix.js';
import { validateQuota } from './quota.js';

export interface KeystoreServiceDeps {
  keystoreStore: KeystoreStore;
  root: RootOfTrust;
  /** Seals the SigV4 credential secrets; the root itself unless given (Shamir: the credential key). */
  secretSealer?: SecretSealer;
  live: LiveState;
  clock: Clock;
  newId: () => string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** The keystore service over its store, the secret sealer and this node's live state (keystore-service.ts). */
export function createKeystoreService({
  keystoreStore: store,
  root,
  secretSealer = root,
  live,
  clock,
  newId,
}: KeystoreServiceDeps): KeystoreService {
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

  /** Open secrets by access key id, with the sealed form they came from (a changed one is unsealed again). */
  const openSecrets = new Map<string, { sealed: Buffer; secret: string }>();

  async function openSecret(credential: StoredCredential): Promise<string> {
    const known = openSecrets.get(credential.accessKeyId);
    if (known?.sealed.equals(credential.sealedSecret)) return known.secret;
    const secret = (
      await secretSealer.unsealSecret(credential.sealedSecret, sealContext.credentialSecret(credential.accessKeyId))
    ).toString('utf8');
    openSecrets.set(credential.accessKeyId, { sealed: credential.sealedSecret, secret });
    return secret;
  }

  /** Puts the keystore and its credentials' secrets into the live state. */
  async function putLive(keystore: Keystore, credentials: readonly StoredCredential[]): Promise<void> {
    const secrets = new Map<string, string>();
    for (const credential of credentials) secrets.set(credential.accessKeyId, await openSecret(credential));
    live.putKeystore(keystore, secrets);
  }

  async function refreshLive(keystore: Keystore): Promise<void> {
    await putLive(keystore, await store.listCredentials(keystore.id));
  }

  return {
    async create(input) {
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
     *= docs/requirements.md#authentication
     *# 86. [SHOULD] Two or more SigV4 credentials are valid at the same time for each path prefix.
     *# 87. [SHOULD] Credential changes take effect without a restart and without dropping connections.
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
     * and from their next refreshLiveState on the other nodes of a fleet (enforced in src/throttle/admission.ts).
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
     *= docs/requirements.md#authorization-logging-operations
     *# 102. [SHOULD] A proxy with a user interface lets authorized users download the KMS console's JSON configuration file.
     */
    async kmsConsoleJson(name: string, accessKeyId?: string) {
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
          RawSecretAccessKey: await openSecret(credential),
        },
      };
    },

    /** When each keystore's SigV4 credentials were created, without their secrets (metrics: credential age). */
    async credentialTimes() {
      const names = new Map((await store.listKeystores()).map((k) => [k.id, k.name]));
      return (await store.listCredentials()).flatMap((c) => {
        const keystore = names.get(c.keystoreId);
        return keystore === undefined ? [] : [{ keystore, accessKeyId: c.accessKeyId, createdAt: c.createdAt }];
      });
    },

    async loadAll(): Promise<void> {
      const [keystores, credentials] = await Promise.all([store.listKeystores(), store.listCredentials()]);
      const byKeystore = new Map<string, StoredCredential[]>();
      for (const c of credentials) {
        const list = byKeystore.get(c.keystoreId);
        if (list) list.push(c);
        else byKeystore.set(c.keystoreId, [c]);
      }
      for (const keystore of keystores) await putLive(keystore, byKeystore.get(keystore.id) ?? []);
      const current = new Set(credentials.map((c) => c.accessKeyId));
      for (const accessKeyId of openSecrets.keys()) if (!current.has(accessKeyId)) openSecrets.delete(accessKeyId);
    },
  };
}
