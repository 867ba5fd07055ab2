import type { DatabaseConnection } from './connection.js';
import { StoreConflictError, StoreNotFoundError, type Store } from './store.js';
import { guarded, uniqueKey } from './db-errors.js';
import {
  adminTokenRow,
  credentialRow,
  groupRow,
  keystoreRow,
  nodeRow,
  toAdminToken,
  toCredential,
  toGroup,
  toKeystore,
  toNode,
  type Database,
} from './rows.js';

export function createKyselyStore(connection: DatabaseConnection): Store {
  const { dialect } = connection;
  const db = connection.tables<Database>();
  return {
    dialect,
    connection,
    db,

    // groups

    async createGroup(group) {
      await guarded(
        () => db.insertInto('groups').values(groupRow(group)).execute(),
        (v) => {
          switch (uniqueKey(v)) {
            case 'groups(id)':
              return `group id "${group.id}" already exists`;
            case 'groups(name)':
              return `group name "${group.name}" already exists`;
          }
          return undefined;
        },
      );
    },

    async getGroupByName(name) {
      const row = await db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toGroup(row);
    },

    async getGroup(id) {
      const row = await db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toGroup(row);
    },

    async listGroups() {
      const rows = await db.selectFrom('groups').selectAll().orderBy('name').execute();
      return rows.map(toGroup);
    },

    // keystores

    async createKeystore(keystore, firstCredential) {
      if (firstCredential.keystoreId !== keystore.id) {
        throw new Error(`first credential belongs to keystore "${firstCredential.keystoreId}", not "${keystore.id}"`);
      }
      await guarded(
        () =>
          db.transaction().execute(async (trx) => {
            await trx.insertInto('keystores').values(keystoreRow(keystore)).execute();
            await trx.insertInto('credentials').values(credentialRow(firstCredential)).execute();
          }),
        async (v) => {
          switch (uniqueKey(v)) {
            case 'keystores(id)':
              return `keystore id "${keystore.id}" already exists`;
            case 'keystores(name)':
              return `keystore name "${keystore.name}" already exists`;
            case 'keystores(prefix)': {
              const owner = await db.selectFrom('keystores').select('name').where('prefix', '=', keystore.prefix).executeTakeFirst();
              return `prefix "${keystore.prefix}" is already used by keystore "${owner?.name ?? '?'}"`;
            }
            case 'credentials(access_key_id)':
              return `access key id "${firstCredential.accessKeyId}" already exists`;
          }
          return v.kind === 'foreignKey' ? `group "${keystore.groupId}" does not exist` : undefined;
        },
      );
    },

    async getKeystoreByName(name) {
      const row = await db.selectFrom('keystores').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toKeystore(row);
    },

    async listKeystores() {
      const rows = await db.selectFrom('keystores').selectAll().orderBy('name').execute();
      return rows.map(toKeystore);
    },

    async setKeystoreStatus(id, status, blockReason) {
      const result = await db
        .updateTable('keystores')
        .set({ status, block_reason: status === 'BLOCKED' ? (blockReason ?? null) : null })
        .where('id', '=', id)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new StoreNotFoundError(`keystore "${id}" does not exist`);
    },

    async setKeystoreQuota(id, quota) {
      const result = await db
        .updateTable('keystores')
        .set({ quota_rps: quota?.rps ?? null, quota_burst: quota?.burst ?? null })
        .where('id', '=', id)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new StoreNotFoundError(`keystore "${id}" does not exist`);
    },

    // credentials

    async addCredential(credential) {
      await guarded(
        () => db.insertInto('credentials').values(credentialRow(credential)).execute(),
        (v) =>
          v.kind === 'foreignKey'
            ? `keystore "${credential.keystoreId}" does not exist`
            : `access key id "${credential.accessKeyId}" already exists`,
      );
    },

    async removeCredential(keystoreId, accessKeyId) {
      await db.transaction().execute(async (trx) => {
        // Lock the keystore row first. Without it, under PostgreSQL's READ COMMITTED two concurrent
        // removals could each still see the other's credential and together remove the last two.
        // (SQLite runs one write transaction at a time, and has no FOR UPDATE.)
        const keystore = await trx
          .selectFrom('keystores')
          .select('name')
          .where('id', '=', keystoreId)
          .$if(dialect === 'postgres', (q) => q.forUpdate())
          .executeTakeFirst();
        if (keystore === undefined) throw new StoreNotFoundError(`keystore "${keystoreId}" does not exist`);

        const remaining = await trx.selectFrom('credentials').select('access_key_id').where('keystore_id', '=', keystoreId).execute();
        if (!remaining.some((c) => c.access_key_id === accessKeyId)) {
          throw new StoreNotFoundError(`credential "${accessKeyId}" does not exist in keystore "${keystore.name}"`);
        }
        if (remaining.length === 1) {
          throw new StoreConflictError(
            `credential "${accessKeyId}" is the last credential of keystore "${keystore.name}"; add another first`,
          );
        }
        await trx.deleteFrom('credentials').where('access_key_id', '=', accessKeyId).execute();
      });
    },

    async getCredential(accessKeyId) {
      const row = await db.selectFrom('credentials').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
      return row && toCredential(row);
    },

    async listCredentials(keystoreId) {
      let query = db.selectFrom('credentials').selectAll().orderBy('created_at').orderBy('access_key_id');
      if (keystoreId !== undefined) query = query.where('keystore_id', '=', keystoreId);
      return (await query.execute()).map(toCredential);
    },

    // admin tokens

    async createAdminToken(token) {
      await guarded(
        () => db.insertInto('admin_tokens').values(adminTokenRow(token)).execute(),
        (v) => {
          switch (uniqueKey(v)) {
            case 'admin_tokens(id)':
              return `admin token id "${token.id}" already exists`;
            case 'admin_tokens(token_hash)':
              return `an admin token with the same hash already exists`;
          }
          return undefined;
        },
      );
    },

    async listAdminTokens() {
      const rows = await db.selectFrom('admin_tokens').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toAdminToken);
    },

    // fleet

    async heartbeat(node) {
      const row = nodeRow(node);
      await db
        .insertInto('nodes')
        .values(row)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            hostname: row.hostname,
            started_at: row.started_at,
            last_seen_at: row.last_seen_at,
          }),
        )
        .execute();
    },

    async listNodesSeenSince(since) {
      const rows = await db.selectFrom('nodes').selectAll().where('last_seen_at', '>=', since).orderBy('id').execute();
      return rows.map(toNode);
    },

    close: () => connection.close(),
  };
}
