import { discardAdminEvents, type AdminEvent, type AdminEventSink } from '../audit/admin-events.js';
import type { Clock } from '../core/clock.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import type { KeyReader } from '../keys/key-store.js';
import { CANARY_GROUP } from '../keys/service.js';
import type { LiveState } from '../registry/live-state.js';
import type { Store } from '../storage/store.js';
import { translateStoreError } from '../storage/translate-error.js';
import type { RequestMetadata } from '../xks/requests.js';
import type { XksOperation } from '../xks/route.js';
import { decide, type PolicyRegistry } from './authorizer.js';
import {
  ruleIdOf,
  validateAttachTarget,
  validatePolicyDocument,
  type AttachTarget,
  type Effect,
  type PolicyDocument,
  type PolicyMode,
  type PolicyRule,
} from './document.js';
import { buildIndex, type AttachmentKind, type TraceStep } from './evaluator.js';
import { createPolicyStore, type StoredPolicy } from './policy-store.js';

export interface PolicyServiceDeps {
  store: Store;
  /** Keys a policy attaches to. */
  keyStore: KeyReader;
  live: LiveState;
  registry: PolicyRegistry;
  clock: Clock;
  newId: () => string;
  events?: AdminEventSink;
}

export interface PolicyView {
  name: string;
  description: string;
  mode: PolicyMode;
  /** By name; absent when the policy is attached to nothing (it then applies nowhere). */
  attach?: { group: string } | { keystore: string } | { key: string; keystore: string } | { missing: string };
  /** Every rule with its id (`rule-N` when the document gave none). */
  rules: (PolicyRule & { id: string })[];
  createdAt: string;
  updatedAt: string;
}

export type SimulatedOperation = Exclude<XksOperation, 'GetHealthStatus'>;

export interface SimulationInput {
  keystore: string;
  keyId: string;
  operation: SimulatedOperation;
  /** As KMS would send it; `kmsOperation` defaults to the operation's usual one (GetKeyMetadata → DescribeKey). */
  requestMetadata: Partial<RequestMetadata>;
}

export interface SimulationResult {
  allowed: boolean;
  /** The deciding rule (`policy/rule`), or `default:allow` / `default:deny`. */
  decidedBy: string;
  policy?: string;
  wouldDeny?: boolean;
  wouldDenyBy?: string;
  trace: TraceStep[];
}

const DEFAULT_KMS_OPERATION: Record<SimulatedOperation, string> = { Encrypt: 'Encrypt', Decrypt: 'Decrypt', GetKeyMetadata: 'DescribeKey' };
const METADATA_FIELDS = [
  'awsPrincipalArn',
  'awsSourceVpc',
  'awsSourceVpce',
  'kmsKeyArn',
  'kmsOperation',
  'kmsRequestId',
  'kmsViaService',
] as const;

type Actor = AdminEvent['actor'];
const SYSTEM: Actor = { kind: 'system', id: 'system', name: 'system' };

/**
 * Policies over requestMetadata (docs/policies.md): documents in the database, compiled into the
 * in-memory index the data plane reads. Every edit is one method with JSON-serializable arguments;
 * it writes the database, then swaps in a freshly built index (effective on the next request).
 */
export function createPolicyService({ store, keyStore, live, registry, clock, newId, events = discardAdminEvents }: PolicyServiceDeps) {
  const policies = createPolicyStore(store);

  // Index rebuilds run one after another, each reading the database after the write that asked for it,
  // so a slower rebuild can never replace a newer index with an older one.
  let reloading: Promise<void> = Promise.resolve();
  function reload(): Promise<void> {
    const next = reloading.then(async () => {
      const [all, defaults] = await Promise.all([policies.list(), policies.listGroupDefaults()]);
      registry.replace(
        buildIndex(
          all,
          defaults.map((d) => [d.groupId, d.effect]),
        ),
      );
    });
    reloading = next.catch(() => undefined);
    return next;
  }

  async function audit(actor: Actor | undefined, action: string, target: AdminEvent['target']): Promise<void> {
    await events.record({ actor: actor ?? SYSTEM, action, target, outcome: 'success' });
  }

  async function requirePolicy(name: string): Promise<StoredPolicy> {
    const policy = await policies.getByName(name);
    if (!policy) throw notFound(`no policy named "${name}"`);
    return policy;
  }

  /** A customer group: the internal one (the health canary's, `__system`) takes no policies. */
  async function requireGroup(name: string) {
    const group = name === CANARY_GROUP ? undefined : await store.getGroupByName(name);
    if (!group) throw notFound(`no group named "${name}"`);
    return group;
  }

  async function requireKeystore(name: string) {
    const keystore = await store.getKeystoreByName(name);
    if (!keystore) throw notFound(`no keystore named "${name}"`);
    return keystore;
  }

  async function resolveTarget(target: AttachTarget): Promise<{ attachKind: AttachmentKind; attachId: string }> {
    if ('group' in target) {
      const group = await requireGroup(target.group);
      return { attachKind: 'group', attachId: group.id };
    }
    const keystore = await requireKeystore(target.keystore);
    if (!('key' in target)) return { attachKind: 'keystore', attachId: keystore.id };
    const key = await keyStore.getKey(keystore.groupId, target.key);
    if (!key || key.internal) throw notFound(`no key "${target.key}" in keystore "${target.keystore}"`);
    return { attachKind: 'key', attachId: key.id };
  }

  async function views(list: StoredPolicy[]): Promise<PolicyView[]> {
    const [groups, keystores] = await Promise.all([store.listGroups(), store.listKeystores()]);
    const groupName = new Map(groups.map((g) => [g.id, g.name]));
    const keystoreName = new Map(keystores.map((k) => [k.id, k.name]));
    const describeAttachment = async (policy: StoredPolicy): Promise<PolicyView['attach']> => {
      const id = policy.attachId!;
      switch (policy.attachKind) {
        case undefined:
          return undefined;
        case 'group':
          return groupName.has(id) ? { group: groupName.get(id)! } : { missing: `group ${id}` };
        case 'keystore':
          return keystoreName.has(id) ? { keystore: keystoreName.get(id)! } : { missing: `keystore ${id}` };
        case 'key': {
          const key = await keyStore.getKeyById(id);
          const keystore = key && keystores.find((k) => k.groupId === key.groupId);
          return key && keystore ? { key: key.externalId, keystore: keystore.name } : { missing: `key ${id}` };
        }
      }
    };
    return Promise.all(
      list.map(async (policy) => ({
        name: policy.name,
        description: policy.description,
        mode: policy.mode,
        attach: await describeAttachment(policy),
        rules: policy.rules.map((rule, i) => ({ ...rule, id: ruleIdOf(rule, i) })),
        createdAt: new Date(policy.createdAt).toISOString(),
        updatedAt: new Date(policy.updatedAt).toISOString(),
      })),
    );
  }
  const view = async (policy: StoredPolicy) => (await views([policy]))[0]!;

  return {
    async list(): Promise<PolicyView[]> {
      return views(await policies.list());
    },

    async show(name: string): Promise<PolicyView> {
      return view(await requirePolicy(name));
    },

    /** Creates a policy from its document; attached when the document says where. */
    async create(input: PolicyDocument, actor?: Actor): Promise<PolicyView> {
      const document = validatePolicyDocument(input);
      if (await policies.getByName(document.name)) throw conflict(`policy "${document.name}" already exists`);
      const attachment = document.attach ? await resolveTarget(document.attach) : {};
      const now = clock.now();
      const policy: StoredPolicy = {
        id: newId(),
        name: document.name,
        description: document.description ?? '',
        mode: document.mode ?? 'enforce',
        ...attachment,
        rules: document.rules,
        createdAt: now,
        updatedAt: now,
      };
      await translateStoreError(() => policies.create(policy));
      await reload();
      await audit(actor, 'policy.create', { policy: policy.name, mode: policy.mode });
      return view(policy);
    },

    /**
     * Replaces a policy's document. The name stays (a document naming another policy is refused);
     * the attachment is kept unless the document gives one.
     */
    async update(name: string, input: PolicyDocument, actor?: Actor): Promise<PolicyView> {
      const current = await requirePolicy(name);
      const document = validatePolicyDocument(input);
      if (document.name !== name) throw invalid(`the document names policy "${document.name}", not "${name}"; a policy cannot be renamed`);
      const attachment = document.attach
        ? await resolveTarget(document.attach)
        : current.attachKind
          ? { attachKind: current.attachKind, attachId: current.attachId }
          : {};
      const policy: StoredPolicy = {
        id: current.id,
        name,
        description: document.description ?? '',
        mode: document.mode ?? 'enforce',
        ...attachment,
        rules: document.rules,
        createdAt: current.createdAt,
        updatedAt: clock.now(),
      };
      await translateStoreError(() => policies.update(policy));
      await reload();
      await audit(actor, 'policy.update', { policy: name, mode: policy.mode });
      return view(policy);
    },

    async remove(name: string, actor?: Actor): Promise<void> {
      const policy = await requirePolicy(name);
      await translateStoreError(() => policies.remove(policy.id));
      await reload();
      await audit(actor, 'policy.delete', { policy: name });
    },

    /** Attaches a policy to one group, keystore or key (replacing its previous attachment). */
    async attach(name: string, target: AttachTarget, actor?: Actor): Promise<PolicyView> {
      const current = await requirePolicy(name);
      const attachment = await resolveTarget(validateAttachTarget(target));
      const policy = { ...current, ...attachment, updatedAt: clock.now() };
      await translateStoreError(() => policies.update(policy));
      await reload();
      await audit(actor, 'policy.attach', { policy: name, ...target });
      return view(policy);
    },

    /** Detaches a policy: it stays stored but applies nowhere. */
    async detach(name: string, actor?: Actor): Promise<PolicyView> {
      const current = await requirePolicy(name);
      const { attachKind: _kind, attachId: _id, ...rest } = current;
      const policy: StoredPolicy = { ...rest, updatedAt: clock.now() };
      await translateStoreError(() => policies.update(policy));
      await reload();
      await audit(actor, 'policy.detach', { policy: name });
      return view(policy);
    },

    /**
     * The groups an edit touches, by name: where the policy applies now and where `target` would make it
     * apply. Quorum approval (docs/access.md) is asked of these groups. Unknown names are left out; the
     * edit itself reports them.
     */
    async groupsAffected(name: string | undefined, target?: AttachTarget): Promise<string[]> {
      const groups = new Set<string>();
      const [allGroups, keystores] = await Promise.all([store.listGroups(), store.listKeystores()]);
      const groupName = new Map(allGroups.map((g) => [g.id, g.name]));
      const current = name === undefined ? undefined : await policies.getByName(name);
      if (current?.attachKind === 'group') groups.add(groupName.get(current.attachId!) ?? '');
      if (current?.attachKind === 'keystore')
        groups.add(groupName.get(keystores.find((k) => k.id === current.attachId)?.groupId ?? '') ?? '');
      if (current?.attachKind === 'key') groups.add(groupName.get((await keyStore.getKeyById(current.attachId!))?.groupId ?? '') ?? '');
      if (target && typeof target === 'object') {
        if ('group' in target) groups.add(target.group);
        else if ('keystore' in target) groups.add(groupName.get(keystores.find((k) => k.name === target.keystore)?.groupId ?? '') ?? '');
      }
      groups.delete('');
      return [...groups];
    },

    /** What a group decides when no rule matches: allow (the default, v0.1 behaviour) or deny. */
    async setGroupDefault(group: string, effect: Effect, actor?: Actor): Promise<{ group: string; default: Effect }> {
      if (effect !== 'allow' && effect !== 'deny') throw invalid(`default must be allow or deny (got "${String(effect)}")`);
      const found = await requireGroup(group);
      await translateStoreError(() => policies.setGroupDefault(found.id, effect, clock.now()));
      await reload();
      await audit(actor, 'policy.set-default', { group, default: effect });
      return { group, default: effect };
    },

    /** Every group with its default effect. */
    async listGroupDefaults(): Promise<{ group: string; default: Effect }[]> {
      const [groups, defaults] = await Promise.all([store.listGroups(), policies.listGroupDefaults()]);
      const effect = new Map(defaults.map((d) => [d.groupId, d.effect]));
      return groups.filter((g) => g.name !== CANARY_GROUP).map((g) => ({ group: g.name, default: effect.get(g.id) ?? 'allow' }));
    },

    /**
     * Would this request be allowed, and by which rule? The data plane's own evaluation over the
     * same in-memory index; it resolves the key but never touches key material.
     */
    simulate(input: SimulationInput): SimulationResult {
      const keystore = live.keystoreByName(input.keystore);
      if (!keystore) throw notFound(`no keystore named "${input.keystore}"`);
      const key = live.key(keystore.keystore.groupId, input.keyId);
      if (!key || key.record.internal) throw notFound(`no key "${input.keyId}" in keystore "${input.keystore}"`);
      const operation = input.operation;
      if (!(operation in DEFAULT_KMS_OPERATION)) throw invalid('operation must be Encrypt, Decrypt or GetKeyMetadata');
      const given = input.requestMetadata ?? {};
      for (const field of Object.keys(given)) {
        if (!(METADATA_FIELDS as readonly string[]).includes(field)) throw invalid(`requestMetadata.${field}: unknown field`);
        if (typeof given[field as keyof RequestMetadata] !== 'string') throw invalid(`requestMetadata.${field} must be a string`);
      }
      const metadata: RequestMetadata = {
        kmsRequestId: 'simulate',
        ...given,
        kmsOperation: given.kmsOperation ?? DEFAULT_KMS_OPERATION[operation],
      };
      const trace: TraceStep[] = [];
      const decision = decide(
        registry.current,
        { groupId: key.record.groupId, keystoreId: keystore.keystore.id, keyId: key.record.id },
        metadata,
        trace,
      );
      return {
        allowed: decision.allowed,
        decidedBy: decision.decidedBy,
        ...(decision.policy ? { policy: decision.policy } : {}),
        ...(decision.wouldDeny ? { wouldDeny: true, wouldDenyBy: decision.wouldDenyBy } : {}),
        trace,
      };
    },

    /** Builds the in-memory index from the database (node start). */
    loadAll: () => reload(),
  };
}

export type PolicyService = ReturnType<typeof createPolicyService>;
