import type { Updateable } from 'kysely';
import type { DatabaseConnection } from './connection.js';
import { StoreConflictError, StoreNotFoundError, type KeyChanges, type Store } from './store.js';
import { constraintViolation, type ConstraintViolation } from './db-errors.js';
import {
  credentialRow,
  groupRow,
  joinUsage,
  keyRow,
  keystoreRow,
  keyVersionRow,
  nodeRow,
  toCredential,
  toGroup,
  toKey,
  toKeystore,
  toKeyVersion,
  toNode,
  type Database,
  type KeyRow,
  type KeyVersionRow,
} from './rows.js';

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

/** Says what a constraint violation meant for this operation; undefined falls back to a generic message. */
type Explain = (violation: ConstraintViolation) => string | undefined | Promise<string | undefined>;

/**
 * Runs a write and turns constraint violations into store errors: a unique violation becomes
 * StoreConflictError, a foreign-key violation (the referenced record is missing) StoreNotFoundError.
 * `explain` runs after the failed transaction has rolled back, so it may query the database.
 */
async function guarded<T>(write: () => Promise<T>, explain: Explain): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const violation = constraintViolation(err);
    if (violation === undefined) throw err;
    const message = await explain(violation);
    if (violation.kind === 'unique') {
      throw new StoreConflictError(message ?? `${violation.key} already exists`);
    }
    throw new StoreNotFoundError(message ?? 'a referenced record does not exist');
  }
}

const uniqueKey = (v: ConstraintViolation) => (v.kind === 'unique' ? v.key : undefined);

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

    // keys

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

    async listKeyStamps(since, limit, after) {
      let query = db
        .selectFrom('keys')
        .select(['id', 'group_id', 'external_id', 'updated_at'])
        .where('internal', '=', 0)
        .where('updated_at', '>=', since)
        .orderBy('updated_at')
        .orderBy('id')
        .limit(limit);
      if (after)
        query = query.where((eb) =>
          eb.or([eb('updated_at', '>', after.updatedAt), eb.and([eb('updated_at', '=', after.updatedAt), eb('id', '>', after.id)])]),
        );
      return (await query.execute()).map((row) => ({
        id: row.id,
        groupId: row.group_id,
        externalId: row.external_id,
        updatedAt: Number(row.updated_at),
      }));
    },

    async updateKey(id, changes, updatedAt, expect) {
      return db.transaction().execute(async (trx) => {
        let query = trx.updateTable('keys').set(keyValues(changes, updatedAt)).where('id', '=', id);
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
              .set(keyValues({ ...changes, currentVersion: version.version }, updatedAt))
              .where('id', '=', version.keyId)
              .where('current_version', '=', expectedCurrent)
              .executeTakeFirst();
            if (result.numUpdatedRows === 0n) return false;
            await trx.insertInto('key_versions').values(keyVersionRow(version)).execute();
            return true;
          }),
        (v) =>
          v.kind === 'foreignKey'
            ? `key "${version.keyId}" does not exist`
            : `version ${version.version} of key "${version.keyId}" already exists`,
      );
    },

    async listKeyVersions(keyId) {
      let query = db.selectFrom('key_versions').selectAll();
      if (keyId !== undefined) query = query.where('key_id', '=', keyId);
      const rows = await query.orderBy('key_id').orderBy('version').execute();
      return rows.map(toKeyVersion);
    },

    async addKeyVersion(version) {
      await guarded(
        () => db.insertInto('key_versions').values(keyVersionRow(version)).execute(),
        (v) =>
          v.kind === 'foreignKey'
            ? `key "${version.keyId}" does not exist`
            : `version ${version.version} of key "${version.keyId}" already exists`,
      );
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
