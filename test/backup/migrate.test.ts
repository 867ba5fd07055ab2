/**
 * Issue 13, embedded to fleet: `keyhold migrate --to postgres://…` copies a SQLite node's whole state into an
 * empty PostgreSQL database (a scratch database of its own); a node on that database then decrypts what the
 * embedded node encrypted (same key ids, versions, ciphertextMetadata), and `keyhold audit verify` passes there.
 * Also a backup restored into an empty PostgreSQL database through $KEYHOLD_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../../src/core/clock.js';
import { startNode } from '../../src/server/node.js';
import type { RunningNode } from '../../src/server/running-node.js';
import { describeRun, keyhold, removeTempDirs, tempDir } from '../cli/helpers.js';
import { okBody } from '../helpers/xks-answers.js';
import { adminOk, closeAgents, decryptBody, encryptBody, metadata, xks } from '../helpers/xks-client.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';

interface Sealed {
  keyId: string;
  plaintext: Buffer;
  encrypted: { ciphertext: string; ciphertextMetadata?: string; initializationVector: string; authenticationTag: string };
}

describe('SQLite to PostgreSQL (issue 13)', () => {
  let embedded: TestNode;
  let fleetNode: RunningNode | undefined;
  const databases: ScratchDatabase[] = [];
  const sealed: Sealed[] = [];
  const metadataBefore = new Map<string, unknown>();
  const work = tempDir('migrate');
  const passphraseFile = join(work, 'passphrase');
  const backupFile = join(work, 'embedded.khb');

  before(async () => {
    writeFileSync(passphraseFile, 'migration passphrase 42\n', { mode: 0o600 });
    embedded = await startTestNode();
    await adminOk(embedded, 'POST', '/keys', { id: 'fleet-key', keystore: 'demo', description: 'moves to the fleet' });
    for (const keyId of [embedded.keyId, 'fleet-key']) {
      for (let round = 0; round < 2; round++) {
        if (round === 1) await adminOk(embedded, 'POST', `/keys/${keyId}/rotate`);
        const plaintext = Buffer.from(`${keyId} ${round} ${Math.random()}`);
        sealed.push({
          keyId,
          plaintext,
          encrypted: okBody(await xks(embedded, { operation: 'encrypt', keyId, body: encryptBody(plaintext) }), 'encrypt'),
        });
      }
      const meta = await xks(embedded, { operation: 'metadata', keyId, body: { requestMetadata: metadata('DescribeKey') } });
      metadataBefore.set(keyId, okBody(meta, 'metadata'));
    }
    // The embedded node stops (its audit chain gets its last checkpoint); its data directory stays.
    await embedded.node.close();
    closeAgents();
    const backup = await keyhold(
      ['--data-dir', embedded.dataDir, 'backup', 'create', '--with-audit', '--out', backupFile, '--passphrase-file', passphraseFile],
      { cwd: work },
    );
    assert.equal(backup.code, 0, describeRun(backup));
  });

  after(async () => {
    closeAgents();
    await fleetNode?.close();
    for (const database of databases) await database.drop();
    rmSync(embedded.dataDir, { recursive: true, force: true });
    removeTempDirs();
  });

  /** Starts a node on the embedded node's data directory (root of trust, node id, TLS) against `url`, and checks every ciphertext. */
  async function decryptsEverything(url: string): Promise<void> {
    fleetNode = await startNode({
      dataDir: embedded.dataDir,
      databaseUrl: url,
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
      clock: systemClock,
      throttle: { shedOnLagMs: 0 },
    });
    const target: TestNode = {
      ...embedded,
      node: fleetNode,
      port: fleetNode.port,
      url: `https://localhost:${fleetNode.port}`,
      host: `localhost:${fleetNode.port}`,
    };
    for (const s of sealed) {
      const answer = okBody(await xks(target, { operation: 'decrypt', keyId: s.keyId, body: decryptBody(s.encrypted) }), 'decrypt');
      assert.deepEqual(Buffer.from(answer.plaintext, 'base64'), s.plaintext);
    }
    for (const [keyId, before] of metadataBefore) {
      const meta = await xks(target, { operation: 'metadata', keyId, body: { requestMetadata: metadata('DescribeKey') } });
      assert.deepEqual(okBody(meta, 'metadata'), before);
    }
    closeAgents();
    await fleetNode.close();
    fleetNode = undefined;
  }

  it('migrate copies everything; a node on PostgreSQL decrypts it; audit verify passes there; a second migrate is refused', async () => {
    const database = await createScratchDatabase();
    databases.push(database);
    const run = await keyhold(['--data-dir', embedded.dataDir, 'migrate', '--to', database.url], { cwd: work });
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^copied \d+ rows \(3 keys, \d+ audit events\) to PostgreSQL/);

    const verify = await keyhold(['--json', '--data-dir', embedded.dataDir, 'audit', 'verify', '--database-url', database.url], {
      cwd: work,
    });
    assert.equal(verify.code, 0, describeRun(verify));
    const report = JSON.parse(verify.stdout) as { ok: boolean; chains: { chain: string; events: number; checkpointsVerified: number }[] };
    assert.equal(report.ok, true);
    const nodeChain = report.chains.find((c) => !c.chain.endsWith('-cli'));
    assert.ok(nodeChain && nodeChain.events > 0 && nodeChain.checkpointsVerified > 0, JSON.stringify(report));

    await decryptsEverything(database.url);

    const again = await keyhold(['--data-dir', embedded.dataDir, 'migrate', '--to', database.url], { cwd: work });
    assert.equal(again.code, 1, describeRun(again));
    assert.match(again.stderr, /^keyhold: the target database is not empty \(table \w+ has rows\)[^\n]*\n$/);
  });

  it('a backup restores into an empty PostgreSQL database ($KEYHOLD_DATABASE_URL) with the full audit log', async () => {
    const database = await createScratchDatabase();
    databases.push(database);
    const run = await keyhold(['--data-dir', embedded.dataDir, 'backup', 'restore', backupFile, '--passphrase-file', passphraseFile], {
      cwd: work,
      env: { KEYHOLD_DATABASE_URL: database.url },
    });
    assert.equal(run.code, 0, describeRun(run));
    const verify = await keyhold(['--json', '--data-dir', embedded.dataDir, 'audit', 'verify', '--database-url', database.url], {
      cwd: work,
    });
    assert.equal(verify.code, 0, describeRun(verify));
    await decryptsEverything(database.url);
  });

  it('migrate refuses a URL that is not PostgreSQL, in one line', async () => {
    const run = await keyhold(['--data-dir', embedded.dataDir, 'migrate', '--to', 'mysql://localhost/keys'], { cwd: work });
    assert.equal(run.code, 1, describeRun(run));
    assert.equal(run.stderr, 'keyhold: --to must be a postgres:// or postgresql:// URL\n');
  });

  it('migrate refuses a --to URL carrying a password (it would show in ps), without echoing it', async () => {
    const run = await keyhold(['--data-dir', embedded.dataDir, 'migrate', '--to', 'postgres://keyhold:hunter2secret@127.0.0.1/x'], {
      cwd: work,
    });
    assert.equal(run.code, 2, describeRun(run));
    assert.match(run.stderr, /^keyhold: --to carries a password/);
    assert.ok(!run.stderr.includes('hunter2secret') && !run.stdout.includes('hunter2secret'), 'the password is not echoed');
  });
});
