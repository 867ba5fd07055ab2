/**
 * Bring your own key on a real database (SQLite and PostgreSQL), with the real `openssl pkeyutl`
 * command wrapping the material: a new key and a new version, the wrapping key's private half stored
 * sealed, and every bad upload refused in one line without creating anything.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { KeyTables } from '../../src/keys/key-rows.js';
import { dialectTargets } from '../helpers/dialects.js';
import { useKeyTestDatabase } from '../helpers/key-nodes.js';
import { managementError } from '../helpers/management-errors.js';

const DAY = 24 * 60 * 60 * 1000;

for (const target of dialectTargets()) {
  describe(`bring your own key on ${target.name}`, () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    const db = useKeyTestDatabase(target, clock);
    const keys = () => db.node.keys;
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'keyhold-byok-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** Wraps `material` exactly as docs/rotation.md's openssl command does. */
    function opensslWrap(publicKeyPem: string, material: Buffer): string {
      const [pub, plain, wrapped] = ['pub.pem', 'key.bin', 'wrapped.bin'].map((f) => join(dir, f));
      assert.ok(pub && plain && wrapped);
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
      const wrapping = await keys().createImportWrappingKey();
      assert.match(wrapping.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
      assert.equal(wrapping.expiresAt, new Date(clock.now() + DAY).toISOString());
      const material = randomBytes(32);
      const imported = await keys().importKey({
        id: 'byok',
        keystore: 'ks',
        wrappingKeyId: wrapping.wrappingKeyId,
        wrappedKey: opensslWrap(wrapping.publicKeyPem, material),
        tags: { origin: 'hsm-a' },
      });
      assert.equal(imported.currentVersion, 1);
      assert.deepEqual(imported.tags, { origin: 'hsm-a' });

      // What the data plane encrypts with is the uploaded key: plain AES-256-GCM with it decrypts.
      const { groupId } = await db.record('byok');
      const iv = randomBytes(12);
      const aad = Buffer.from('aad');
      const plaintext = Buffer.from('imported key works');
      const dataKey = db.node.live.key(groupId, 'byok')?.versions.get(1);
      assert.ok(dataKey, 'version 1 is live');
      const { ciphertext, tag } = await dataKey.encrypt(iv, plaintext, aad);
      const decipher = createDecipheriv('aes-256-gcm', material, iv).setAAD(aad).setAuthTag(tag);
      assert.deepEqual(Buffer.concat([decipher.update(ciphertext), decipher.final()]), plaintext);

      // The same wrapping key cannot be used twice; a new one adds version 2 to the existing key.
      await assert.rejects(
        keys().importKey({
          id: 'byok',
          wrappingKeyId: wrapping.wrappingKeyId,
          wrappedKey: opensslWrap(wrapping.publicKeyPem, randomBytes(32)),
        }),
        managementError('invalid', /was already used; ask for a new one/),
      );
      const second = await keys().createImportWrappingKey();
      const next = await keys().importKey({
        id: 'byok',
        wrappingKeyId: second.wrappingKeyId,
        wrappedKey: opensslWrap(second.publicKeyPem, randomBytes(32)),
        into: 'new-version',
      });
      assert.equal(next.currentVersion, 2);
      assert.deepEqual(
        (await keys().listVersions({ id: 'byok' })).map((v) => v.origin),
        ['IMPORTED', 'IMPORTED'],
      );
      // The private half is stored sealed, never as a PEM or DER key in the clear.
      const rows = await db.store.tables<KeyTables>().selectFrom('import_wrapping_keys').select('sealed_private_key').execute();
      assert.equal(rows.length, 2);
      assert.ok(rows.every((r) => !r.sealed_private_key.includes(Buffer.from('PRIVATE KEY')) && r.sealed_private_key[0] === 0x01));
    });

    it('refuses unknown, expired, wrong-size and garbage uploads in one line, creating nothing', async () => {
      const wrapping = await keys().createImportWrappingKey();
      const good = opensslWrap(wrapping.publicKeyPem, randomBytes(32));
      await assert.rejects(
        keys().importKey({ id: 'byok-x', keystore: 'ks', wrappingKeyId: 'nope', wrappedKey: good }),
        managementError('not-found', /no import wrapping key "nope"/),
      );
      await assert.rejects(
        keys().importKey({
          id: 'byok-x',
          keystore: 'ks',
          wrappingKeyId: wrapping.wrappingKeyId,
          wrappedKey: opensslWrap(wrapping.publicKeyPem, randomBytes(16)),
        }),
        managementError('invalid', /holds 16 bytes; it must be a 256-bit/),
      );
      await assert.rejects(
        keys().importKey({
          id: 'byok-x',
          keystore: 'ks',
          wrappingKeyId: wrapping.wrappingKeyId,
          wrappedKey: randomBytes(384).toString('base64'),
        }),
        managementError('invalid', /does not decrypt/),
      );
      await assert.rejects(
        keys().importKey({ id: 'byok-x', keystore: 'ks', wrappingKeyId: wrapping.wrappingKeyId, wrappedKey: 'AAAA' }),
        managementError('invalid', /base64 of 384 bytes/),
      );
      await assert.rejects(
        keys().importKey({ id: 'byok', keystore: 'ks', wrappingKeyId: wrapping.wrappingKeyId, wrappedKey: good, into: 'new-key' }),
        managementError('conflict', /already exists/),
      );
      await assert.rejects(
        keys().importKey({ id: 'byok-x', keystore: 'ks', wrappingKeyId: 'nope', wrappedKey: good, into: 'new-version' }),
        managementError('not-found', /no key "byok-x" in keystore "ks"/),
      );
      clock.advance(DAY);
      await assert.rejects(
        keys().importKey({ id: 'byok-x', keystore: 'ks', wrappingKeyId: wrapping.wrappingKeyId, wrappedKey: good }),
        managementError('invalid', /expired at .*ask for a new one/),
      );
      await assert.rejects(keys().show('byok-x'), managementError('not-found', /no key "byok-x"/));
    });
  });
}
