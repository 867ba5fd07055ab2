/**
 * The key service's lifecycle on a real store (SQLite and PostgreSQL) and the software root of trust:
 * transitions and refusals, the scheduler (ManualClock), compare-and-set between two nodes on one
 * database, and bring-your-own-key with the real `openssl pkeyutl` command.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { AdminEvent, AdminEventSink } from '../../src/audit/admin-events.js';
import { ManualClock } from '../../src/core/clock.js';
import { ManagementError } from '../../src/core/errors.js';
import { startRotationScheduler } from '../../src/keys/rotation-scheduler.js';
import { createKeyService, type KeyService } from '../../src/keys/service.js';
import { createKeystoreService } from '../../src/keystores/service.js';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import { createKillSwitch } from '../../src/kill-switch/create-kill-switch.js';
import { createKillSwitchStore } from '../../src/kill-switch/settings-store.js';
import { LiveState } from '../../src/registry/live-state.js';
import type { RootOfTrust } from '../../src/roots/root-of-trust.js';
import { createSoftwareRoot } from '../../src/roots/software-root.js';
import { openStore } from '../../src/storage/open-store.js';
import type { Store } from '../../src/storage/store.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';

const DAY = 24 * 60 * 60 * 1000;
const masterKey = randomBytes(32);

/** The software root, noting which references it was asked to destroy (it has nothing to erase itself). */
function recordingRoot(): RootOfTrust & { destroyed: string[] } {
  const root = createSoftwareRoot(masterKey);
  const destroyed: string[] = [];
  return { ...root, destroyed, destroyKeyMaterial: async (reference, context) => void destroyed.push(`${context}:${reference.length}`) };
}

/** One "node": its own live state and services over a shared store. */
function nodeOn(store: Store, clock: ManualClock) {
  const root = recordingRoot();
  const live = new LiveState();
  const deps = { store, keystoreStore: createKeystoreStore(store.connection), root, live, clock, newId: randomUUID };
  return {
    root,
    live,
    keys: createKeyService(deps),
    keystores: createKeystoreService(deps),
    killSwitch: createKillSwitch({ store: createKillSwitchStore(store.connection), clock }),
  };
}

async function rejectsWith(promise: Promise<unknown>, kind: ManagementError['kind'], message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ManagementError, String(error));
    assert.equal(error.kind, kind, error.message);
    assert.match(error.message, message);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

function suite(dialect: string, open: { setUp(): Promise<void>; store(): Promise<Store>; tearDown(): Promise<void> }) {
  describe(`key lifecycle on ${dialect}`, () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    let store: Store;
    let node: ReturnType<typeof nodeOn>;
    let keys: KeyService;
    let n = 0;
    const fresh = async (extra: Record<string, unknown> = {}) => {
      const id = `key-${++n}`;
      await keys.create({ id, keystore: 'ks', ...extra });
      return id;
    };

    before(async () => {
      await open.setUp();
      store = await open.store();
      node = nodeOn(store, clock);
      keys = node.keys;
      await node.keystores.create({ name: 'ks', prefix: '/ks' });
    });
    after(async () => {
      await store?.close();
      await open.tearDown();
    });

    it('moves between states only along the documented transitions, each refusal one line and changing nothing', async () => {
      const id = await fresh();
      const show = () => keys.show(id);
      await rejectsWith(keys.unblock({ id }), 'conflict', /is enabled; cannot unblock it/);
      await rejectsWith(keys.cancelDeletion({ id }), 'conflict', /cannot cancel its deletion/);
      await rejectsWith(keys.block({ id, reason: '' }), 'invalid', /give a reason/);
      for (const days of [6, 31, 7.5]) await rejectsWith(keys.scheduleDeletion({ id, days }), 'invalid', /7 to 30 days/);
      assert.equal((await show()).status, 'ENABLED');

      assert.equal((await keys.block({ id, reason: 'leak' })).blockReason, 'leak');
      await rejectsWith(keys.enable(id), 'conflict', /is blocked \(leak\); unblock it first/);
      await rejectsWith(keys.disable(id), 'conflict', /unblock it first/);
      const unblocked = await keys.unblock({ id });
      assert.equal(unblocked.status, 'ENABLED');
      assert.equal(unblocked.blockReason, undefined);

      const pending = await keys.scheduleDeletion({ id, days: 10 });
      assert.equal(pending.deletionDate, new Date(clock.now() + 10 * DAY).toISOString());
      const before = JSON.stringify(await show());
      await rejectsWith(keys.enable(id), 'conflict', /pending deletion .*cancel the deletion first/);
      await rejectsWith(keys.rotate({ id }), 'conflict', /pending deletion/);
      await rejectsWith(keys.block({ id, reason: 'x' }), 'conflict', /pending deletion/);
      assert.equal(JSON.stringify(await show()), before);
      assert.equal((await keys.cancelDeletion({ id })).status, 'DISABLED');
    });

    it('validates tags, description, rotation period and minimum decryption version', async () => {
      const id = await fresh({ description: 'payments', tags: { team: 'core' } });
      assert.deepEqual((await keys.setTags({ id, set: { env: 'prod' } })).tags, { team: 'core', env: 'prod' });
      assert.deepEqual((await keys.setTags({ id, remove: ['team'] })).tags, { env: 'prod' });
      await rejectsWith(keys.setTags({ id, remove: ['nope'] }), 'not-found', /has no tag "nope"/);
      await rejectsWith(keys.setTags({ id, set: { 'bad\nname': 'x' } }), 'invalid', /tag name/);
      await rejectsWith(keys.setTags({ id, set: { big: 'v'.repeat(257) } }), 'invalid', /at most 256/);
      const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v']));
      await rejectsWith(keys.setTags({ id, set: many }), 'invalid', /at most 50 tags/);
      await rejectsWith(keys.describe({ id, description: 'x'.repeat(257) }), 'invalid', /description/);
      assert.equal((await keys.describe({ id, description: 'card payments' })).description, 'card payments');
      await rejectsWith(keys.setRotationPolicy({ id, days: 0 }), 'invalid', /1 to 3650 days/);
      await rejectsWith(keys.setMinDecryptVersion({ id, version: 2 }), 'invalid', /must be 1 to 1/);
      const shown = await keys.show(id);
      assert.deepEqual(shown.tags, { env: 'prod' });
      assert.equal(shown.minDecryptVersion, 1);
    });

    it('revokes and destroys old versions only on purpose, never the current one', async () => {
      const id = await fresh();
      await keys.rotate({ id });
      await rejectsWith(keys.revokeVersion({ id, version: 2 }), 'conflict', /current version .* rotate first/);
      await rejectsWith(keys.revokeVersion({ id, version: 5 }), 'not-found', /has no version 5/);
      await rejectsWith(keys.destroyVersion({ id, version: 1 }), 'conflict', /still decrypts; revoke it/);
      assert.equal((await keys.revokeVersion({ id, version: 1 })).state, 'REVOKED');
      await rejectsWith(keys.revokeVersion({ id, version: 1 }), 'conflict', /already revoked/);
      const destroysBefore = node.root.destroyed.length;
      assert.equal((await keys.destroyVersion({ id, version: 1 })).state, 'DESTROYED');
      assert.equal(node.root.destroyed.length, destroysBefore + 1);
      const versions = await store.listKeyVersions((await store.listKeys()).find((k) => k.externalId === id)!.id);
      assert.deepEqual(
        versions.map((v) => [v.version, v.state, v.sealedMaterial.length]),
        [
          [1, 'DESTROYED', 0],
          [2, 'ENABLED', 61],
        ],
      );
      assert.deepEqual(
        (await keys.listVersions({ id })).map((v) => [v.version, v.current, v.decrypts]),
        [
          [1, false, false],
          [2, true, true],
        ],
      );
    });

    it('the scheduler rotates due keys and destroys keys past their deletion date, recording each as the system actor', async () => {
      const rotating = await fresh();
      const deleting = await fresh();
      await keys.setRotationPolicy({ id: rotating, days: 90 });
      await keys.scheduleDeletion({ id: deleting, days: 7 });
      const events: AdminEvent[] = [];
      const sink: AdminEventSink = { record: async (event) => void events.push(event) };
      const scheduler = startRotationScheduler({
        keys,
        nodeId: 'node-a',
        logger: pino({ level: 'silent' }),
        events: sink,
        intervalMs: 3_600_000,
      });
      try {
        clock.advance(7 * DAY);
        const first = await scheduler.tick();
        assert.deepEqual(
          first.destroyed.map((d) => d.key),
          [deleting],
        );
        assert.deepEqual(
          first.rotated.filter((r) => r.key === rotating),
          [],
        );
        assert.equal((await keys.show(deleting)).status, 'DESTROYED');
        assert.ok(
          node.root.destroyed.some((d) => d.endsWith(':61')),
          'the root was asked to destroy the material',
        );
        assert.equal(node.live.key((await store.listKeys())[0]!.groupId, deleting)?.versions.size, 0, 'the data plane forgot it');
        await rejectsWith(keys.create({ id: deleting, keystore: 'ks' }), 'conflict', /never reused/);

        clock.advance(83 * DAY);
        const second = await scheduler.tick();
        assert.deepEqual(
          second.rotated.filter((r) => r.key === rotating).map((r) => r.version),
          [2],
        );
        assert.equal((await keys.show(rotating)).nextRotationAt, new Date(clock.now() + 90 * DAY).toISOString());
        assert.deepEqual(
          (await scheduler.tick()).rotated.filter((r) => r.key === rotating),
          [],
        );
        assert.deepEqual(
          events
            .filter((e) => e.target?.key === rotating || e.target?.key === deleting)
            .map((e) => [e.actor, e.action, e.target?.key, e.outcome]),
          [
            [{ kind: 'system', id: 'node-a', name: 'scheduler' }, 'key.destroy', deleting, 'success'],
            [{ kind: 'system', id: 'node-a', name: 'scheduler' }, 'key.rotate', rotating, 'success'],
          ],
        );
      } finally {
        await scheduler.stop();
      }
    });

    it('finishes a destruction that was interrupted after the key was marked DESTROYED', async () => {
      const id = await fresh();
      const record = (await store.listKeys()).find((k) => k.externalId === id)!;
      await store.updateKey(record.id, { status: 'DESTROYED' }, clock.now());
      await keys.runDue();
      assert.deepEqual(
        (await store.listKeyVersions(record.id)).map((v) => [v.state, v.sealedMaterial.length]),
        [['DESTROYED', 0]],
      );
      assert.deepEqual(
        (await store.listKeysDue(clock.now())).filter((k) => k.id === record.id),
        [],
      );
    });

    it('a destruction the root of trust refuses is reported as a failure, the key stays unusable, and the next pass finishes it', async () => {
      const failing = nodeOn(store, clock);
      let refusals = 1;
      const root = failing.root;
      const flaky = createKeyService({
        store,
        keystoreStore: createKeystoreStore(store.connection),
        root: {
          ...root,
          destroyKeyMaterial: async (reference, context) =>
            refusals-- > 0 ? Promise.reject(new Error('HSM session lost')) : root.destroyKeyMaterial(reference, context),
        },
        live: failing.live,
        clock,
        newId: randomUUID,
      });
      const id = await fresh();
      await keys.scheduleDeletion({ id, days: 7 });
      clock.advance(7 * DAY);
      const events: AdminEvent[] = [];
      const scheduler = startRotationScheduler({
        keys: flaky,
        nodeId: 'node-b',
        logger: pino({ level: 'silent' }),
        events: { record: async (e) => void events.push(e) },
        intervalMs: 3_600_000,
      });
      try {
        const first = await scheduler.tick();
        assert.deepEqual(
          first.failed.map((f) => [f.key, f.action, f.reason]),
          [[id, 'destroy', 'HSM session lost']],
        );
        assert.deepEqual(
          events.map((e) => [e.action, e.outcome, e.detail]),
          [['key.destroy', 'failure', 'HSM session lost']],
        );
        assert.equal((await keys.show(id)).status, 'DESTROYED', 'the key is never usable again, whatever the root says');
        const second = await scheduler.tick();
        assert.deepEqual(second.failed, []);
        const record = (await store.listKeys()).find((k) => k.externalId === id)!;
        assert.deepEqual(
          (await store.listKeyVersions(record.id)).map((v) => [v.state, v.sealedMaterial.length]),
          [['DESTROYED', 0]],
        );
      } finally {
        await scheduler.stop();
      }
    });

    it('two nodes running the scheduler at once rotate a due key once and destroy a due key once; the other node catches up', async () => {
      const other = nodeOn(store, clock);
      await other.keys.loadAll();
      const rotating = await fresh();
      const deleting = await fresh();
      await keys.setRotationPolicy({ id: rotating, days: 1 });
      await keys.scheduleDeletion({ id: deleting, days: 7 });
      clock.advance(7 * DAY);
      const [a, b] = await Promise.all([keys.runDue(), other.keys.runDue()]);
      const rotations = [...a.rotated, ...b.rotated].filter((r) => r.key === rotating);
      assert.deepEqual(
        rotations.map((r) => r.version),
        [2],
        JSON.stringify({ a, b }),
      );
      assert.deepEqual([...a.destroyed, ...b.destroyed].filter((d) => d.key === deleting).length, 1);
      assert.deepEqual([...a.failed, ...b.failed], []);
      const record = (await store.listKeys()).find((k) => k.externalId === rotating)!;
      assert.deepEqual(
        (await store.listKeyVersions(record.id)).map((v) => v.version),
        [1, 2],
      );

      await other.keys.syncLive();
      assert.equal(other.live.key(record.groupId, rotating)?.record.currentVersion, 2);
      assert.deepEqual([...other.live.key(record.groupId, rotating)!.versions.keys()], [1, 2]);
    });

    it('keeps the node-wide kill switch in the database: another node (or a restart) reads it back', async () => {
      assert.equal((await node.killSwitch.engage({ reason: 'breach drill' })).on, true);
      assert.equal(node.killSwitch.gate('Encrypt', undefined as never)?.errorName, 'InvalidStateException');
      const other = nodeOn(store, clock);
      assert.equal(other.killSwitch.gate('Encrypt', undefined as never), undefined, 'not read yet');
      assert.deepEqual(await other.killSwitch.refresh(), { on: true, reason: 'breach drill', since: new Date(clock.now()).toISOString() });
      assert.equal(other.killSwitch.gate('Decrypt', undefined as never)?.errorName, 'InvalidStateException');
      await node.killSwitch.release();
      assert.equal((await other.killSwitch.refresh()).on, false);
      assert.equal(other.killSwitch.gate('Decrypt', undefined as never), undefined);
    });

    describe('bring your own key', () => {
      let dir: string;
      before(() => {
        dir = mkdtempSync(join(tmpdir(), 'keyhold-byok-'));
      });
      after(() => rmSync(dir, { recursive: true, force: true }));

      /** Wraps `material` exactly as the openssl command does. */
      function opensslWrap(publicKeyPem: string, material: Buffer): string {
        const [pub, plain, wrapped] = ['pub.pem', 'key.bin', 'wrapped.bin'].map((f) => join(dir, f)) as [string, string, string];
        writeFileSync(pub, publicKeyPem);
        writeFileSync(plain, material);
        const result = spawnSync(
          'openssl',
          [
            'pkeyutl',
            '-encrypt',
            '-pubin',
            '-inkey',
            pub,
            '-in',
            plain,
            '-out',
            wrapped,
            '-pkeyopt',
            'rsa_padding_mode:oaep',
            '-pkeyopt',
            'rsa_oaep_md:sha256',
          ],
          { encoding: 'utf8' },
        );
        assert.equal(result.status, 0, result.stderr);
        return readFileSync(wrapped).toString('base64');
      }

      it('imports an openssl-wrapped 256-bit key as a new key and as a new version; the material is the one uploaded', async () => {
        const wrapping = await keys.createImportWrappingKey();
        assert.match(wrapping.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
        assert.equal(wrapping.expiresAt, new Date(clock.now() + DAY).toISOString());
        const material = randomBytes(32);
        const imported = await keys.importKey({
          id: 'byok',
          keystore: 'ks',
          wrappingKeyId: wrapping.wrappingKeyId,
          wrappedKey: opensslWrap(wrapping.publicKeyPem, material),
          tags: { origin: 'hsm-a' },
        });
        assert.equal(imported.currentVersion, 1);
        assert.deepEqual(imported.tags, { origin: 'hsm-a' });

        // What the data plane encrypts with is the uploaded key: plain AES-256-GCM with it decrypts.
        const groupId = (await store.listKeys()).find((k) => k.externalId === 'byok')!.groupId;
        const iv = randomBytes(12);
        const aad = Buffer.from('aad');
        const plaintext = Buffer.from('imported key works');
        const { ciphertext, tag } = await node.live.key(groupId, 'byok')!.versions.get(1)!.encrypt(iv, plaintext, aad);
        const decipher = createDecipheriv('aes-256-gcm', material, iv).setAAD(aad).setAuthTag(tag);
        assert.deepEqual(Buffer.concat([decipher.update(ciphertext), decipher.final()]), plaintext);

        // The same wrapping key cannot be used twice; a new one adds version 2 to the existing key.
        await rejectsWith(
          keys.importKey({
            id: 'byok',
            wrappingKeyId: wrapping.wrappingKeyId,
            wrappedKey: opensslWrap(wrapping.publicKeyPem, randomBytes(32)),
          }),
          'invalid',
          /was already used; ask for a new one/,
        );
        const second = await keys.createImportWrappingKey();
        const next = await keys.importKey({
          id: 'byok',
          wrappingKeyId: second.wrappingKeyId,
          wrappedKey: opensslWrap(second.publicKeyPem, randomBytes(32)),
          into: 'new-version',
        });
        assert.equal(next.currentVersion, 2);
        assert.deepEqual(
          (await keys.listVersions({ id: 'byok' })).map((v) => v.origin),
          ['IMPORTED', 'IMPORTED'],
        );
        // The private half is stored sealed, never as a PEM or DER key in the clear.
        const rows = await store.db
          .withTables<{ import_wrapping_keys: { sealed_private_key: Buffer } }>()
          .selectFrom('import_wrapping_keys')
          .select('sealed_private_key')
          .execute();
        assert.ok(rows.every((r) => !r.sealed_private_key.includes(Buffer.from('PRIVATE KEY')) && r.sealed_private_key[0] === 0x01));
      });

      it('refuses unknown, expired, wrong-size and garbage uploads in one line, creating nothing', async () => {
        const wrapping = await keys.createImportWrappingKey();
        const good = opensslWrap(wrapping.publicKeyPem, randomBytes(32));
        await rejectsWith(
          keys.importKey({ id: 'byok-x', keystore: 'ks', wrappingKeyId: 'nope', wrappedKey: good }),
          'not-found',
          /no import wrapping key "nope"/,
        );
        await rejectsWith(
          keys.importKey({
            id: 'byok-x',
            keystore: 'ks',
            wrappingKeyId: wrapping.wrappingKeyId,
            wrappedKey: opensslWrap(wrapping.publicKeyPem, randomBytes(16)),
          }),
          'invalid',
          /holds 16 bytes; it must be a 256-bit/,
        );
        await rejectsWith(
          keys.importKey({
            id: 'byok-x',
            keystore: 'ks',
            wrappingKeyId: wrapping.wrappingKeyId,
            wrappedKey: randomBytes(384).toString('base64'),
          }),
          'invalid',
          /does not decrypt/,
        );
        await rejectsWith(
          keys.importKey({ id: 'byok-x', keystore: 'ks', wrappingKeyId: wrapping.wrappingKeyId, wrappedKey: 'AAAA' }),
          'invalid',
          /base64 of 384 bytes/,
        );
        await rejectsWith(
          keys.importKey({ id: 'byok', keystore: 'ks', wrappingKeyId: wrapping.wrappingKeyId, wrappedKey: good, into: 'new-key' }),
          'conflict',
          /already exists/,
        );
        clock.advance(DAY);
        await rejectsWith(
          keys.importKey({ id: 'byok-x', keystore: 'ks', wrappingKeyId: wrapping.wrappingKeyId, wrappedKey: good }),
          'invalid',
          /expired at .*ask for a new one/,
        );
        await rejectsWith(keys.show('byok-x'), 'not-found', /no key "byok-x"/);
      });
    });
  });
}

suite(
  'SQLite',
  (() => {
    let dir = '';
    return {
      async setUp() {
        dir = mkdtempSync(join(tmpdir(), 'keyhold-lifecycle-'));
      },
      store: () => openStore({ sqlitePath: join(dir, 'keyhold.db') }),
      async tearDown() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  })(),
);

suite(
  'PostgreSQL',
  (() => {
    let database: ScratchDatabase | undefined;
    return {
      async setUp() {
        database = await createScratchDatabase();
      },
      store: () => openStore({ databaseUrl: database!.url }),
      async tearDown() {
        await database?.drop();
      },
    };
  })(),
);
