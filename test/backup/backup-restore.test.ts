/**
 * Issue 13, end to end: a serving node encrypts through XKS (SigV4-signed like KMS), `keyhold backup create`
 * runs beside it while XKS traffic flows, the data directory is destroyed, `keyhold backup restore` rebuilds a
 * new one (its master.key placed first), and the restored node decrypts every pre-backup ciphertext with the
 * same key ids, versions and ciphertextMetadata, answers GetKeyMetadata as before, and its audit log verifies.
 * The file is searched for every secret the node holds.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readMasterKeyFile } from '../../src/roots/master-key-file.js';
import { sealContext } from '../../src/roots/root-of-trust.js';
import { createSoftwareRoot } from '../../src/roots/software-root.js';
import type { RunningNode } from '../../src/server/running-node.js';
import { openDatabase } from '../../src/storage/open-database.js';
import { describeRun, keyhold, removeTempDirs, tempDir } from '../cli/helpers.js';
import { startPeerNode } from '../helpers/fleet.js';
import { okBody } from '../helpers/xks-answers.js';
import { adminOk, closeAgents, decryptBody, encryptBody, metadata, xks } from '../helpers/xks-client.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';

const PASSPHRASE = 'restore-drill correct horse 7';

interface Sealed {
  keyId: string;
  plaintext: Buffer;
  encrypted: { ciphertext: string; ciphertextMetadata?: string; initializationVector: string; authenticationTag: string };
}

describe('backup while serving, destroy, restore, decrypt (issue 13)', () => {
  let original: TestNode;
  let restored: RunningNode | undefined;
  const work = tempDir('backup');
  const passphraseFile = join(work, 'passphrase');
  const backupFile = join(work, 'node.khb');
  const newDir = join(work, 'restored');
  const sealed: Sealed[] = [];
  const metadataBefore = new Map<string, unknown>();
  let masterKey: Buffer;
  const keyMaterial: Buffer[] = [];
  const trafficDuringBackup = { ok: 0, failed: 0 };

  before(async () => {
    writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    original = await startTestNode();
    await adminOk(original, 'POST', '/keys', { id: 'second-key', keystore: 'demo' });
    for (const keyId of [original.keyId, 'second-key']) {
      for (let round = 0; round < 2; round++) {
        if (round === 1) await adminOk(original, 'POST', `/keys/${keyId}/rotate`);
        const plaintext = Buffer.from(`plaintext ${keyId} round ${round} ${Math.random()}`);
        const answer = okBody(await xks(original, { operation: 'encrypt', keyId, body: encryptBody(plaintext) }), 'encrypt');
        sealed.push({ keyId, plaintext, encrypted: answer });
      }
      const meta = await xks(original, { operation: 'metadata', keyId, body: { requestMetadata: metadata('DescribeKey') } });
      metadataBefore.set(keyId, okBody(meta, 'metadata'));
    }
    masterKey = readMasterKeyFile(join(original.dataDir, 'master.key'));
    // The key material itself (unwrapped here with the master key), to search the backup file for it.
    const database = await openDatabase({ sqlitePath: join(original.dataDir, 'keyhold.db') });
    const root = createSoftwareRoot(masterKey);
    const rows = await database
      .tables<{ key_versions: { key_id: string; version: number; sealed_material: Buffer } }>()
      .selectFrom('key_versions')
      .selectAll()
      .execute();
    // The software root seals material and secrets alike, so unsealSecret gives the raw 256-bit material.
    for (const row of rows) {
      keyMaterial.push(await root.unsealSecret(row.sealed_material, sealContext.keyMaterial(row.key_id, row.version)));
      keyMaterial.push(row.sealed_material);
    }
    await database.close();

    // XKS traffic keeps flowing while the backup runs in its own process.
    const flow = { running: true };
    const traffic = (async () => {
      while (flow.running) {
        const answer = await xks(original, { operation: 'encrypt', body: encryptBody(Buffer.from('during backup')) });
        if (answer.status === 200) trafficDuringBackup.ok++;
        else trafficDuringBackup.failed++;
      }
    })();
    const created = await keyhold(
      ['--data-dir', original.dataDir, 'backup', 'create', '--out', backupFile, '--passphrase-file', passphraseFile],
      {
        cwd: work,
      },
    );
    flow.running = false;
    await traffic;
    assert.equal(created.code, 0, describeRun(created));

    // Disaster: the data directory is gone. Only master.key was kept elsewhere (and the backup file).
    copyFileSync(join(original.dataDir, 'master.key'), join(work, 'kept-master.key'));
    await original.close();
    assert.equal(existsSync(original.dataDir), false);
    mkdirSync(newDir, { mode: 0o700 });
    copyFileSync(join(work, 'kept-master.key'), join(newDir, 'master.key'));
  });

  after(async () => {
    closeAgents();
    await restored?.close();
    removeTempDirs();
  });

  it('the node served XKS without a failure while the backup ran', () => {
    assert.ok(trafficDuringBackup.ok > 0, 'traffic ran during the backup');
    assert.equal(trafficDuringBackup.failed, 0);
  });

  it('backup verify checks integrity without the passphrase and every table with it', async () => {
    const plain = await keyhold(['--json', 'backup', 'verify', backupFile], { cwd: work });
    assert.equal(plain.code, 0, describeRun(plain));
    const report = JSON.parse(plain.stdout) as {
      ok: boolean;
      decrypted: boolean;
      manifest: { counts: Record<string, number>; root: string };
    };
    assert.deepEqual([report.ok, report.decrypted, report.manifest.root], [true, false, 'master-key-file']);
    assert.equal(report.manifest.counts.keys, 3, 'demo key, second key and the health canary');
    assert.equal(report.manifest.counts.key_versions, 5);
    const full = await keyhold(['--json', 'backup', 'verify', backupFile, '--passphrase-file', passphraseFile], { cwd: work });
    assert.equal(full.code, 0, describeRun(full));
    assert.equal((JSON.parse(full.stdout) as { decrypted: boolean }).decrypted, true);
  });

  it('the file holds no secret in the clear: SigV4 secret, admin token, passphrase, plaintexts, key material, master key', () => {
    const file = readFileSync(backupFile);
    const needles: [string, Buffer][] = [
      ['credential secret', Buffer.from(original.credential.secret)],
      ['admin token', Buffer.from(original.adminToken)],
      ['passphrase', Buffer.from(PASSPHRASE)],
      ['master key', masterKey],
      ['master key (base64)', Buffer.from(masterKey.toString('base64'))],
      ...sealed.map((s): [string, Buffer] => [`plaintext of ${s.keyId}`, s.plaintext]),
      ...keyMaterial.map((m, i): [string, Buffer] => [`key material ${i} (raw or wrapped)`, m]),
    ];
    for (const [what, needle] of needles) assert.equal(file.indexOf(needle), -1, `${what} found in the backup file`);
    // Even the names in the manifest are only counts: no key id or keystore name is readable without the passphrase.
    assert.equal(file.indexOf(Buffer.from('second-key')), -1);
  });

  it('restore into a new data directory, then the restored node decrypts every pre-backup ciphertext', async () => {
    const run = await keyhold(['--data-dir', newDir, 'backup', 'restore', backupFile, '--passphrase-file', passphraseFile], { cwd: work });
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^restored \d+ rows \(5 key versions opened by the root of trust\)/);
    const target = await startPeerNode(original, newDir);
    restored = target.node;
    for (const s of sealed) {
      const answer = okBody(await xks(target, { operation: 'decrypt', keyId: s.keyId, body: decryptBody(s.encrypted) }), 'decrypt');
      assert.deepEqual(
        Buffer.from(answer.plaintext, 'base64'),
        s.plaintext,
        `ciphertext of ${s.keyId} (metadata ${s.encrypted.ciphertextMetadata})`,
      );
    }
    for (const [keyId, before] of metadataBefore) {
      const meta = await xks(target, { operation: 'metadata', keyId, body: { requestMetadata: metadata('DescribeKey') } });
      assert.deepEqual(okBody(meta, 'metadata'), before);
    }
  });

  it('the restored audit log verifies, and records the backup and the restore', async () => {
    await restored?.close();
    restored = undefined;
    const verify = await keyhold(['--json', '--data-dir', newDir, 'audit', 'verify'], { cwd: work });
    assert.equal(verify.code, 0, describeRun(verify));
    const report = JSON.parse(verify.stdout) as { ok: boolean; chains: { chain: string; checkpointsVerified: number }[] };
    assert.equal(report.ok, true);
    // The backed-up node's own chain (it continues it: the restored data directory keeps its node id) and the CLI's.
    const nodeId = readFileSync(join(newDir, 'node-id'), 'utf8').trim();
    assert.deepEqual(report.chains.map((c) => c.chain).sort(), [nodeId, `${nodeId}-cli`]);
    const database = await openDatabase({ sqlitePath: join(newDir, 'keyhold.db') });
    const actions = await database
      .tables<{ audit_events: { action: string } }>()
      .selectFrom('audit_events')
      .select('action')
      .where('action', 'in', ['backup.create', 'backup.restore'])
      .execute();
    await database.close();
    // The backup's own event is written after its snapshot, so only the restore is in the restored log.
    assert.deepEqual(
      actions.map((a) => a.action),
      ['backup.restore'],
    );
  });
});
