import type { Transaction, Updateable } from 'kysely';
import type { DatabaseConnection } from '../storage/connection.js';
import { guarded, uniqueKey, type ConstraintViolation } from '../storage/db-errors.js';
import { StoreNotFoundError } from '../storage/store-errors.js';
import {
  joinUsage,
  keyRow,
  keyFromValues,
  KEY_VERSION_COLUMNS,
  keyVersionRow,
  LIVE_KEY_COLUMNS,
  searchText,
  toKey,
  toKeyVersion,
  toWrappingKey,
  versionFromValues,
  wrappingKeyRow,
  type KeyRow,
  type KeyTables,
  type KeyVersionRow,
} from './key-rows.js';
import type { KeyChanges, KeyStore } from './key-store.js';
import { createKeySearch } from './sql-key-search.js';

function keyValues(changes: KeyChanges, updatedAt: number): Updateable<KeyRow> {
  const values: Updateable<KeyRow> = { updated_at: updatedAt };
  if (changes.status !== undefined) values.status = changes.status;
  if (changes.usage !== undefined) values.usage = joinUsage(changes.usage);
  if (changes.currentVersion !== undefined) values.current_version = changes.currentVersion;
  if (changes.blockReason !== undefined) values.block_reason = changes.blockReason;
  if (changes.deletionDate !== undefined) values.deletion_date = changes.deletionDate;
  if (changes.description !== undefined) values.description = changes.description;
  if (changes.tags !== undefined) values.tags = JSON.stringify(changes.tags);
  if (changes.rotationPeriodDays !== undefined) values.rotation_period_days = changes.rotationPeriodDays;
  if (changes.nextRotationAt !== undefined) values.next_rotation_at = changes.nextRotationAt;
  if (changes.minDecryptVersion !== undefined) values.min_decrypt_version = changes.minDecryptVersion;
  return values;
}

/**
 * The row values of `changes`, search_text included when the description or the tags change (read from
 * the row inside the same transaction, so a concurrent change of the other field is not lost).
 */
async function changedValues(trx: Transaction<KeyTables>, id: string, changes: KeyChanges, updatedAt: number): Promise<Updateable<KeyRow>> {
  const values = keyValues(changes, updatedAt);
  if (changes.description === undefined && changes.tags === undefined) return values;
  const row = await trx.selectFrom('keys').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) return values;
  const current = toKey(row);
  values.search_text = searchText({
    externalId: current.externalId,
    description: changes.description ?? current.description,
    tags: changes.tags ?? current.tags,
  });
  return values;
}

/** The key store on an open database (SQLite or PostgreSQL): the queries of key-store.ts. */
export function createKeyStore(connection: DatabaseConnection): KeyStore {
  const db = connection.tables<KeyTables>();
  const versionExplain = (version: { keyId: string; version: number }) => (v: ConstraintViolation) =>
    v.kind === 'foreignKey'
      ? `key "${version.keyId}" does not exist`
      : `version ${version.version} of key "${version.keyId}" already exists`;

  return {
    async createKey(key, firstVersion) {
      if (firstVersion.keyId !== key.id || firstVersion.version !== key.currentVersion) {
        throw new Error(
          `first version must be version ${key.currentVersion} of key "${key.id}", ` +
            `got version ${firstVersion.version} of "${firstVersion.keyId}"`,
        );
      }
      await guarded(
        () =>
          db.transaction().execute(async (trx) => {
            await trx.insertInto('keys').values(keyRow(key)).execute();
            await trx.insertInto('key_versions').values(keyVersionRow(firstVersion)).execute();
          }),
        (v) => {
          switch (uniqueKey(v)) {
            case 'keys(id)':
              return `key id "${key.id}" already exists`;
            case 'keys(group_id,external_id)':
              return `key id "${key.externalId}" already exists in group "${key.groupId}"`;
          }
          return v.kind === 'foreignKey' ? `group "${key.groupId}" does not exist` : undefined;
        },
      );
    },

    async getKey(groupId, externalId) {
      const row = await db
        .selectFrom('keys')
        .selectAll()
        .where('group_id', '=', groupId)
        .where('external_id', '=', externalId)
        .executeTakeFirst();
      return row && toKey(row);
    },

    async getKeyById(id) {
      const row = await db.selectFrom('keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toKey(row);
    },

    async listKeys(groupId, options) {
      let query = db.selectFrom('keys').selectAll().orderBy('group_id').orderBy('external_id');
      if (groupId !== undefined) query = query.where('group_id', '=', groupId);
      if (!options?.includeInternal) query = query.where('internal', '=', 0);
      return (await query.execute()).map(toKey);
    },

    async listLiveKeys() {
      const rows = await connection.rowArrays(db.selectFrom('keys').select(LIVE_KEY_COLUMNS).where('internal', '=', 0));
      return rows.map(keyFromValues);
    },

    ...createKeySearch(db),

    async updateKey(id, changes, updatedAt, expect) {
      return db.transaction().execute(async (trx) => {
        let query = trx
          .updateTable('keys')
          .set(await changedValues(trx, id, changes, updatedAt))
          .where('id', '=', id);
        if (expect?.status !== undefined) query = query.where('status', 'in', expect.status);
        if (expect?.currentVersion !== undefined) query = query.where('current_version', '=', expect.currentVersion);
        if (expect?.deletionDueBy !== undefined) query = query.where('deletion_date', '<=', expect.deletionDueBy);
        const result = await query.executeTakeFirst();
        if (result.numUpdatedRows === 0n) {
          const exists = await trx.selectFrom('keys').select('id').where('id', '=', id).executeTakeFirst();
          if (exists === undefined) throw new StoreNotFoundError(`key "${id}" does not exist`);
          return false;
        }
        // The current version must be one the key has; rolling back undoes the update above.
        if (changes.currentVersion !== undefined) {
          const version = await trx
            .selectFrom('key_versions')
            .select('version')
            .where('key_id', '=', id)
            .where('version', '=', changes.currentVersion)
            .executeTakeFirst();
          if (version === undefined) {
            throw new StoreNotFoundError(`key "${id}" has no version ${changes.currentVersion}`);
          }
        }
        return true;
      });
    },

    async addCurrentVersion(version, expectedCurrent, changes, updatedAt) {
      return guarded(
        () =>
          db.transaction().execute(async (trx) => {
            // The conditional update takes the row lock first (PostgreSQL); a racing node waits, then
            // re-reads current_version, matches nothing and adds no version.
            const result = await trx
              .updateTable('keys')
              .set(await changedValues(trx, version.keyId, { ...changes, currentVersion: version.version }, updatedAt))
              .where('id', '=', version.keyId)
              .where('current_version', '=', expectedCurrent)
              .executeTakeFirst();
            if (result.numUpdatedRows === 0n) return false;
            await trx.insertInto('key_versions').values(keyVersionRow(version)).execute();
            return true;
          }),
        versionExplain(version),
      );
    },

    async listKeyVersions(keyId) {
      const query = db.selectFrom('key_versions').select(KEY_VERSION_COLUMNS);
      if (keyId !== undefined) return (await query.where('key_id', '=', keyId).orderBy('version').execute()).map(toKeyVersion);
      // Every version (node start): read as arrays, the bulk path (DatabaseConnection.rowArrays), unordered.
      return (await connection.rowArrays(query)).map(versionFromValues);
    },

    async addKeyVersion(version) {
      await guarded(() => db.insertInto('key_versions').values(keyVersionRow(version)).execute(), versionExplain(version));
    },

    async updateKeyVersion(keyId, version, changes, expectStates) {
      const values: Updateable<KeyVersionRow> = {};
      if (changes.state !== undefined) values.state = changes.state;
      if (changes.sealedMaterial !== undefined) values.sealed_material = changes.sealedMaterial;
      if (changes.revokedAt !== undefined) values.revoked_at = changes.revokedAt;
      if (changes.destroyedAt !== undefined) values.destroyed_at = changes.destroyedAt;
      let query = db.updateTable('key_versions').set(values).where('key_id', '=', keyId).where('version', '=', version);
      if (expectStates !== undefined) query = query.where('state', 'in', expectStates);
      const result = await query.executeTakeFirst();
      if (result.numUpdatedRows > 0n) return true;
      const exists = await db
        .selectFrom('key_versions')
        .select('version')
        .where('key_id', '=', keyId)
        .where('version', '=', version)
        .executeTakeFirst();
      if (exists === undefined) throw new StoreNotFoundError(`key "${keyId}" has no version ${version}`);
      return false;
    },

    async listKeysDue(now) {
      const rows = await db
        .selectFrom('keys')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'ENABLED'), eb('next_rotation_at', '<=', now)]),
            eb.and([eb('status', '=', 'PENDING_DELETION'), eb('deletion_date', '<=', now)]),
            eb.and([
              eb('status', '=', 'DESTROYED'),
              eb.exists(
                eb
                  .selectFrom('key_versions')
                  .select('version')
                  .whereRef('key_versions.key_id', '=', 'keys.id')
                  .where('key_versions.state', '!=', 'DESTROYED'),
              ),
            ]),
          ]),
        )
        .orderBy('id')
        .execute();
      return rows.map(toKey);
    },

    async createWrappingKey(key) {
      await db.insertInto('import_wrapping_keys').values(wrappingKeyRow(key)).execute();
    },

    async getWrappingKey(id) {
      const row = await db.selectFrom('import_wrapping_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toWrappingKey(row);
    },

    async markWrappingKeyUsed(id, usedAt) {
      const result = await db
        .updateTable('import_wrapping_keys')
        .set({ used_at: usedAt })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}
