import { discardAdminEvents, type AdminEventSink } from '../audit/admin-events.js';
import type { Clock } from '../core/clock.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import { CANARY_GROUP } from '../keys/service.js';
import type { LiveState } from '../registry/live-state.js';
import { translateStoreError } from '../storage/translate-error.js';
import type { PolicyRegistry } from './authorizer.js';
import type { PolicyDirectory } from './directory.js';
import { ruleIdOf, validateAttachTarget, validatePolicyDocument } from './document.js';
import { buildIndex } from './evaluator.js';
import type { PolicyStore, StoredPolicy } from './policy-store.js';
import type { PolicyActor, PolicyService, PolicyView } from './service.js';
import { simulatePolicies } from './simulate.js';
import { createPolicyTargets, type Attachment } from './targets.js';

export interface PolicyServiceDeps {
  /** Policies and group defaults (createPolicyStore over the node's database). */
  store: PolicyStore;
  /** Groups, keystores and keys, to attach policies to and show them by name. */
  directory: PolicyDirectory;
  live: LiveState;
  registry: PolicyRegistry;
  clock: Clock;
  newId: () => string;
  events?: AdminEventSink;
}

const SYSTEM: PolicyActor = { kind: 'system', id: 'system', name: 'system' };

/** The policy service (service.ts) over its store. */
export function createPolicyService({
  store,
  directory,
  live,
  registry,
  clock,
  newId,
  events = discardAdminEvents,
}: PolicyServiceDeps): PolicyService {
  const targets = createPolicyTargets(directory);

  // Index rebuilds run one after another, each reading the database after the write that asked for it,
  // so a slower rebuild can never replace a newer index with an older one.
  let reloading: Promise<void> = Promise.resolve();
  function reload(): Promise<void> {
    const next = reloading.then(async () => {
      const [all, defaults] = await Promise.all([store.list(), store.listGroupDefaults()]);
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

  /** Writes, rebuilds the index, and audits the edit. */
  async function edited(write: () => Promise<void>, actor: PolicyActor | undefined, action: string, target: Record<string, string>) {
    await translateStoreError(write);
    await reload();
    await events.record({ actor: actor ?? SYSTEM, action, target, outcome: 'success' });
  }

  async function requirePolicy(name: string): Promise<StoredPolicy> {
    const policy = await store.getByName(name);
    if (!policy) throw notFound(`no policy named "${name}"`);
    return policy;
  }

  async function views(list: readonly StoredPolicy[]): Promise<PolicyView[]> {
    const attachments = await targets.describe(list);
    return list.map((policy, i) => ({
      name: policy.name,
      description: policy.description,
      mode: policy.mode,
      attach: attachments[i],
      rules: policy.rules.map((rule, index) => ({ ...rule, id: ruleIdOf(rule, index) })),
      createdAt: new Date(policy.createdAt).toISOString(),
      updatedAt: new Date(policy.updatedAt).toISOString(),
    }));
  }

  async function view(policy: StoredPolicy): Promise<PolicyView> {
    const [only] = await views([policy]);
    if (!only) throw new Error(`policy "${policy.name}" has no view`);
    return only;
  }

  const currentAttachment = (policy: StoredPolicy): Attachment | Record<string, never> =>
    policy.attachKind !== undefined && policy.attachId !== undefined ? { attachKind: policy.attachKind, attachId: policy.attachId } : {};

  return {
    async list() {
      return views(await store.list());
    },

    async show(name) {
      return view(await requirePolicy(name));
    },

    async create(input, actor) {
      const document = validatePolicyDocument(input);
      if (await store.getByName(document.name)) throw conflict(`policy "${document.name}" already exists`);
      const attachment = document.attach ? await targets.resolve(document.attach) : {};
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
      await edited(() => store.create(policy), actor, 'policy.create', { policy: policy.name, mode: policy.mode });
      return view(policy);
    },

    async update(name, input, actor) {
      const current = await requirePolicy(name);
      const document = validatePolicyDocument(input);
      if (document.name !== name) throw invalid(`the document names policy "${document.name}", not "${name}"; a policy cannot be renamed`);
      const attachment = document.attach ? await targets.resolve(document.attach) : currentAttachment(current);
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
      await edited(() => store.update(policy), actor, 'policy.update', { policy: name, mode: policy.mode });
      return view(policy);
    },

    async remove(name, actor) {
      const policy = await requirePolicy(name);
      await edited(() => store.remove(policy.id), actor, 'policy.delete', { policy: name });
    },

    async attach(name, target, actor) {
      const current = await requirePolicy(name);
      const checked = validateAttachTarget(target);
      const policy = { ...current, ...(await targets.resolve(checked)), updatedAt: clock.now() };
      await edited(() => store.update(policy), actor, 'policy.attach', { policy: name, ...checked });
      return view(policy);
    },

    async detach(name, actor) {
      const { attachKind: _kind, attachId: _id, ...rest } = await requirePolicy(name);
      const policy: StoredPolicy = { ...rest, updatedAt: clock.now() };
      await edited(() => store.update(policy), actor, 'policy.detach', { policy: name });
      return view(policy);
    },

    async groupsAffected(name, target) {
      const current = name === undefined ? undefined : await store.getByName(name);
      return targets.groupsAffected(current, target);
    },

    async setGroupDefault(group, effect, actor) {
      // Plain JSON from an approval replay or a caller other than the route (whose schema allows only these).
      const given: string = effect;
      if (given !== 'allow' && given !== 'deny') throw invalid(`default must be allow or deny (got "${given}")`);
      const found = await targets.requireGroup(group);
      await edited(() => store.setGroupDefault(found.id, effect, clock.now()), actor, 'policy.set-default', { group, default: effect });
      return { group, default: effect };
    },

    async listGroupDefaults() {
      const [groups, defaults] = await Promise.all([directory.keystores.listGroups(), store.listGroupDefaults()]);
      const effect = new Map(defaults.map((d) => [d.groupId, d.effect]));
      return groups.filter((g) => g.name !== CANARY_GROUP).map((g) => ({ group: g.name, default: effect.get(g.id) ?? 'allow' }));
    },

    simulate: (input) => simulatePolicies(live, registry, input),

    loadAll: () => reload(),
  };
}
