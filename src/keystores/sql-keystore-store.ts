import type { DatabaseConnection } from '../storage/connection.js';
import { guarded, uniqueKey } from '../storage/db-errors.js';
import { StoreConflictError, StoreNotFoundError } from '../storage/store-errors.js';
import type { KeystoreStore } from './keystore-store.js';
import { credentialRow, groupRow, keystoreRow, toCredential, toGroup, toKeystore, type KeystoreTables } from './keystore-rows.js';

/** The keystore store on an open database (SQLite or PostgreSQL). */
export function createKeystoreStore(connection: DatabaseConnection): KeystoreStore {
  const { dialect } = connection;
  const db = connection.tables<KeystoreTables>();
  const groupWhere = async (column: 'id' | 'name', value: string) => {
    const row = await db.selectFrom('groups').selectAll().where(column, '=', value).executeTakeFirst();
    return row && toGroup(row);
  };
  return {
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

    getGroupByName: (name) => groupWhere('name', name),
    getGroup: (id) => groupWhere('id', id),

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
  };
}
