import type { DatabaseConnection } from '../storage/connection.js';
import { refusedBy } from '../storage/db-errors.js';
import { StoreNotFoundError } from '../storage/store-errors.js';
import type { Effect, PolicyMode, PolicyRule } from './document.js';
import type { AttachmentKind } from './evaluator.js';
import type { PolicyStore, StoredPolicy } from './policy-store.js';

/** The policies feature's own tables (migration 0004_policies). Enumerated columns hold only what this store wrote. */
interface PolicyTables {
  policies: PolicyRow;
  policy_group_defaults: GroupDefaultRow;
}

interface PolicyRow {
  id: string;
  name: string;
  description: string;
  mode: PolicyMode;
  attach_kind: AttachmentKind | null;
  attach_id: string | null;
  /** The rules as a JSON array (validated before they were written). */
  rules: string;
  created_at: number;
  updated_at: number;
}

interface GroupDefaultRow {
  group_id: string;
  effect: Effect;
  updated_at: number;
}

const toRow = (p: StoredPolicy): PolicyRow => ({
  id: p.id,
  name: p.name,
  description: p.description,
  mode: p.mode,
  attach_kind: p.attachKind ?? null,
  attach_id: p.attachId ?? null,
  rules: JSON.stringify(p.rules),
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

const fromRow = (r: PolicyRow): StoredPolicy => ({
  id: r.id,
  name: r.name,
  description: r.description,
  mode: r.mode,
  ...(r.attach_kind && r.attach_id ? { attachKind: r.attach_kind, attachId: r.attach_id } : {}),
  // Rules are validated (validatePolicyDocument) before they are written, and only this store writes them.
  rules: JSON.parse(r.rules) as PolicyRule[],
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** The policy store on the node's database. */
export function createPolicyStore(connection: DatabaseConnection): PolicyStore {
  const db = connection.tables<PolicyTables>();

  return {
    async create(policy) {
      await refusedBy('unique', `policy "${policy.name}" already exists`, () => db.insertInto('policies').values(toRow(policy)).execute());
    },

    async update(policy) {
      const { id: _id, created_at: _created, ...changes } = toRow(policy);
      const result = await db.updateTable('policies').set(changes).where('id', '=', policy.id).executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new StoreNotFoundError(`policy "${policy.name}" does not exist`);
    },

    async remove(id) {
      const result = await db.deleteFrom('policies').where('id', '=', id).executeTakeFirst();
      if (result.numDeletedRows === 0n) throw new StoreNotFoundError(`policy "${id}" does not exist`);
    },

    async getByName(name) {
      const row = await db.selectFrom('policies').selectAll().where('name', '=', name).executeTakeFirst();
      return row && fromRow(row);
    },

    async list() {
      return (await db.selectFrom('policies').selectAll().orderBy('name').execute()).map(fromRow);
    },

    async setGroupDefault(groupId, effect, updatedAt) {
      await refusedBy('foreignKey', `group "${groupId}" does not exist`, () =>
        db
          .insertInto('policy_group_defaults')
          .values({ group_id: groupId, effect, updated_at: updatedAt })
          .onConflict((c) => c.column('group_id').doUpdateSet({ effect, updated_at: updatedAt }))
          .execute(),
      );
    },

    async listGroupDefaults() {
      const rows = await db.selectFrom('policy_group_defaults').selectAll().orderBy('group_id').execute();
      return rows.map((r) => ({ groupId: r.group_id, effect: r.effect, updatedAt: Number(r.updated_at) }));
    },
  };
}
