import { notFound } from '../core/errors.js';
import type { Group } from '../domain/types.js';
import { CANARY_GROUP } from '../keys/service.js';
import type { AttachTarget } from './document.js';
import type { PolicyDirectory } from './directory.js';
import type { AttachmentKind } from './evaluator.js';
import type { StoredPolicy } from './policy-store.js';
import type { AttachmentView } from './service.js';

/** A policy's attachment by internal id, as stored. */
export interface Attachment {
  attachKind: AttachmentKind;
  attachId: string;
}

/** Attachments between names (what operators write) and internal ids (what is stored and evaluated). */
export interface PolicyTargets {
  /** The attachment a target names; ManagementError not-found when it names nothing (or the internal group). */
  resolve(target: AttachTarget): Promise<Attachment>;
  /** Each policy's attachment by name, in order. */
  describe(policies: readonly StoredPolicy[]): Promise<(AttachmentView | undefined)[]>;
  /** A customer group by name (the health canary's internal group takes no policies). */
  requireGroup(name: string): Promise<Group>;
  /** See PolicyService.groupsAffected. */
  groupsAffected(current: StoredPolicy | undefined, target?: AttachTarget): Promise<string[]>;
}

export function createPolicyTargets(directory: PolicyDirectory): PolicyTargets {
  async function requireGroup(name: string): Promise<Group> {
    const group = name === CANARY_GROUP ? undefined : await directory.keystores.getGroupByName(name);
    if (!group) throw notFound(`no group named "${name}"`);
    return group;
  }

  async function requireKeystore(name: string) {
    const keystore = await directory.keystores.getKeystoreByName(name);
    if (!keystore) throw notFound(`no keystore named "${name}"`);
    return keystore;
  }

  async function keyView(id: string, keystores: readonly { name: string; groupId: string }[]): Promise<AttachmentView> {
    const key = await directory.keys.getKeyById(id);
    const keystore = key && keystores.find((k) => k.groupId === key.groupId);
    return key && keystore ? { key: key.externalId, keystore: keystore.name } : { missing: `key ${id}` };
  }

  return {
    requireGroup,

    async resolve(target) {
      if ('group' in target) return { attachKind: 'group', attachId: (await requireGroup(target.group)).id };
      const keystore = await requireKeystore(target.keystore);
      if (!('key' in target)) return { attachKind: 'keystore', attachId: keystore.id };
      const key = await directory.keys.getKey(keystore.groupId, target.key);
      if (!key || key.internal) throw notFound(`no key "${target.key}" in keystore "${target.keystore}"`);
      return { attachKind: 'key', attachId: key.id };
    },

    async describe(policies) {
      const [groups, keystores] = await Promise.all([directory.keystores.listGroups(), directory.keystores.listKeystores()]);
      const groupName = new Map(groups.map((g) => [g.id, g.name]));
      const keystoreName = new Map(keystores.map((k) => [k.id, k.name]));
      return Promise.all(
        policies.map(async ({ attachKind, attachId }): Promise<AttachmentView | undefined> => {
          if (attachKind === undefined || attachId === undefined) return undefined;
          switch (attachKind) {
            case 'group': {
              const group = groupName.get(attachId);
              return group === undefined ? { missing: `group ${attachId}` } : { group };
            }
            case 'keystore': {
              const keystore = keystoreName.get(attachId);
              return keystore === undefined ? { missing: `keystore ${attachId}` } : { keystore };
            }
            case 'key':
              return keyView(attachId, keystores);
          }
        }),
      );
    },

    async groupsAffected(current, target) {
      const groups = new Set<string>();
      const [allGroups, keystores] = await Promise.all([directory.keystores.listGroups(), directory.keystores.listKeystores()]);
      const groupName = new Map(allGroups.map((g) => [g.id, g.name]));
      const nameOf = (groupId: string | undefined) => (groupId === undefined ? undefined : groupName.get(groupId));
      const add = (name: string | undefined) => {
        if (name) groups.add(name);
      };
      const attachId = current?.attachId;
      if (attachId !== undefined) {
        if (current?.attachKind === 'group') add(nameOf(attachId));
        if (current?.attachKind === 'keystore') add(nameOf(keystores.find((k) => k.id === attachId)?.groupId));
        if (current?.attachKind === 'key') add(nameOf((await directory.keys.getKeyById(attachId))?.groupId));
      }
      if (target) {
        if ('group' in target) add(target.group);
        else add(nameOf(keystores.find((k) => k.name === target.keystore)?.groupId));
      }
      return [...groups];
    },
  };
}
