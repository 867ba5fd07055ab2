/**
 * `keyhold init` and `keyhold serve`, end to end: the real CLI as a child process.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  bash,
  describeRun,
  extractCurl,
  failureLine,
  keyhold,
  parseJsonOutput,
  readKmsConsole,
  removeTempDirs,
  startServe,
  tempDir,
  type RunResult,
  type ServedNode,
} from './helpers.js';

/** path → mode, size, mtime and content hash of everything under a directory. */
function listing(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const stat = statSync(path);
      const hash = entry.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'dir';
      out[path.slice(root.length)] = `${(stat.mode & 0o7777).toString(8)} ${stat.size} ${stat.mtimeMs} ${hash}`;
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

const mode = (path: string) => statSync(path).mode & 0o777;

function assertHealthy(result: RunResult): void {
  assert.equal(result.code, 0, describeRun(result));
  assert.match(result.stdout, /"healthStatus":"ACTIVE"/, describeRun(result));
  assert.equal(parseJsonOutput<{ xksProxyVendor: string }>(result).xksProxyVendor, 'Keyhold');
}

after(removeTempDirs);

describe('keyhold init', () => {
  const cwd = tempDir('init');
  // Not the default name (./data), so a --data-dir that is ignored shows.
  const dataDir = join(cwd, 'state');

  it('init --data-dir DIR creates keyhold.db, master.key (0600), tls/cert.pem+key.pem, admin-token (0600), kms-console/demo.json (0600), the demo keystore and key', async () => {
    const result = await keyhold(['init', '--data-dir', 'state'], { cwd });
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /^Created state$/m);
    assert.match(result.stdout, /XKS URI path\s+\/demo\/kms\/xks\/v1/);
    assert.match(result.stdout, /demo key id\s+demo-key/);
    assert.ok(!existsSync(join(cwd, 'data')), 'nothing created in ./data');

    for (const file of ['keyhold.db', 'master.key', 'tls/cert.pem', 'tls/key.pem', 'admin-token', 'kms-console/demo.json']) {
      assert.ok(statSync(join(dataDir, file)).isFile(), `${file} exists`);
    }
    assert.equal(mode(join(dataDir, 'master.key')), 0o600, 'master.key is 0600');
    assert.equal(mode(join(dataDir, 'admin-token')), 0o600, 'admin-token is 0600');
    assert.equal(mode(join(dataDir, 'kms-console/demo.json')), 0o600, 'kms-console/demo.json is 0600');
    assert.equal(mode(join(dataDir, 'tls/key.pem')), 0o600, 'tls/key.pem is 0600');
    assert.equal(mode(join(dataDir, 'keyhold.db')) & 0o077, 0, 'the database is not readable by others');
    assert.match(readFileSync(join(dataDir, 'tls/cert.pem'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
    assert.match(readFileSync(join(dataDir, 'admin-token'), 'utf8'), /^\S{20,}\n?$/);

    const { uriPath, credential } = readKmsConsole(dataDir);
    assert.equal(uriPath, '/demo/kms/xks/v1');
    assert.match(credential.accessKeyId, /^[A-Z2-7]{20,30}$/);
    assert.match(credential.secret, /^[A-Za-z0-9/+=]{43,64}$/);
    assert.ok(result.stdout.includes(credential.secret), 'init shows the secret once');

    const db = new Database(join(dataDir, 'keyhold.db'), { readonly: true, fileMustExist: true });
    try {
      const keystores = db.prepare('select name, prefix, status from keystores').all();
      assert.deepEqual(keystores, [{ name: 'demo', prefix: '/demo', status: 'ENABLED' }]);
      const keys = db.prepare('select external_id, status from keys where internal = 0').all();
      assert.deepEqual(keys, [{ external_id: 'demo-key', status: 'ENABLED' }]);
    } finally {
      db.close();
    }
  });

  it('init refuses an existing non-empty directory: one "keyhold: " line on stderr, non-zero exit, directory unchanged', async () => {
    const other = join(cwd, 'mine');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'do not touch\n');
    for (const [args, dir] of [
      [['init', '--data-dir', 'mine'], other],
      // The global flag position, from another cwd: an ignored --data-dir would create ./data there.
      [['--data-dir', dataDir, 'init'], dataDir],
    ] as const) {
      const before = listing(dir);
      const elsewhere = tempDir('init-cwd');
      const result = await keyhold([...args], { cwd: args[0] === 'init' ? cwd : elsewhere });
      const line = failureLine(result);
      assert.match(line, /already exists and is not empty; refusing to touch it/);
      assert.ok(line.includes(dir), `names the directory: ${line}`);
      assert.deepEqual(listing(dir), before, 'directory unchanged');
      assert.deepEqual(readdirSync(elsewhere), [], 'nothing created in the cwd');
    }
  });

  it('KEYHOLD_DATA_DIR is the default data directory (an existing empty directory is initialized; then refused)', async () => {
    const envDir = tempDir('init-env');
    const elsewhere = tempDir('init-env-cwd');
    const env = { KEYHOLD_DATA_DIR: envDir };
    const created = await keyhold(['init'], { cwd: elsewhere, env });
    assert.equal(created.code, 0, describeRun(created));
    assert.ok(existsSync(join(envDir, 'keyhold.db')));
    assert.ok(existsSync(join(envDir, 'kms-console/demo.json')));
    assert.deepEqual(readdirSync(elsewhere), [], 'nothing created in the cwd');

    const before = listing(envDir);
    const refused = await keyhold(['init'], { cwd: elsewhere, env });
    assert.ok(failureLine(refused).includes(envDir));
    assert.deepEqual(listing(envDir), before);
  });
});

describe('keyhold serve', () => {
  const cwd = tempDir('serve');
  const dataDirArg = 'kh-data';
  const dataDir = join(cwd, dataDirArg);
  let node: ServedNode | undefined;
  let firstSecret = '';
  after(async () => {
    await node?.stop();
  });

  it('first start on a nonexistent data directory initializes it and prints endpoint, URI path, access key id, secret, KMS console path and a curl that works as printed', async () => {
    node = await startServe({ cwd, dataDirArg });
    await node.waitForStdout(/\/kms\/xks\/v1\/health\n/);
    const out = node.stdout();
    const { uriPath, credential } = readKmsConsole(dataDir);
    firstSecret = credential.secret;
    assert.equal(uriPath, '/demo/kms/xks/v1');
    // The quick start prints both addresses: XKS, and the admin listener on the next port (loopback).
    assert.match(
      out,
      new RegExp(
        `serving XKS on https://localhost:${node.port} and the admin API on https://localhost:${node.port + 1} \\(data: kh-data\\)`,
      ),
    );
    assert.match(out, new RegExp(`XKS endpoint\\s+https://localhost:${node.port}\\n`));
    assert.match(out, /XKS URI path\s+\/demo\/kms\/xks\/v1\n/);
    assert.match(out, new RegExp(`access key id\\s+${credential.accessKeyId}\\n`));
    assert.ok(out.includes(`secret access key    ${credential.secret}`), 'prints the secret on the first run');
    assert.match(out, /KMS console file\s+kh-data\/kms-console\/demo\.json\n/, 'path relative to the cwd');
    assert.equal(mode(join(dataDir, 'kms-console/demo.json')), 0o600);

    const curl = extractCurl(out);
    assert.match(curl, /--aws-sigv4 "aws:amz:us-east-1:kms-xks-proxy"/);
    assert.ok(curl.includes(`https://localhost:${node.port}/demo/kms/xks/v1/health`));
    assertHealthy(await bash(curl, { cwd }));
  });

  it('second start with the same data directory does not print the secret, and its printed curl (secret read from the KMS console file) works', async () => {
    assert.ok(node && firstSecret, 'needs the first start');
    await node.stop();
    node = await startServe({ cwd, dataDirArg });
    await node.waitForStdout(/\/kms\/xks\/v1\/health\n/);
    const out = node.stdout();
    const { credential } = readKmsConsole(dataDir);
    assert.equal(credential.secret, firstSecret, 'same credential');
    assert.ok(!out.includes(firstSecret), 'the secret is not printed again');
    assert.ok(out.includes('/demo/kms/xks/v1'));
    assert.ok(out.includes(credential.accessKeyId));
    assert.ok(out.includes('kh-data/kms-console/demo.json'));
    const curl = extractCurl(out);
    assert.ok(!curl.includes(firstSecret));
    assertHealthy(await bash(curl, { cwd }));
  });

  it('a data directory outside the cwd (absolute path): the printed curl still works', async () => {
    assert.ok(node, 'needs the first start');
    await node.stop();
    const elsewhere = tempDir('serve-cwd');
    node = await startServe({ cwd: elsewhere, dataDirArg: dataDir });
    await node.waitForStdout(/\/kms\/xks\/v1\/health\n/);
    const curl = extractCurl(node.stdout());
    assert.ok(curl.includes(`${dataDir}/tls/cert.pem`), 'absolute certificate path');
    assertHealthy(await bash(curl, { cwd: elsewhere }));
    assert.deepEqual(readdirSync(elsewhere), [], 'nothing created in the cwd');
  });

  it('management commands fail with one line "connection refused" once the node of the data directory is stopped', async () => {
    assert.ok(node, 'needs a started node');
    await node.stop();
    const result = await keyhold(['keystore', 'list', '--data-dir', dataDirArg], { cwd });
    const line = failureLine(result);
    assert.match(line, /^keyhold: cannot reach the admin API at https:\/\/localhost:\d+: connection refused/);
  });
});
