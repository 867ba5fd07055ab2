/**
 * Issue 13, scheduled backups: `serve --backup-dir DIR --backup-every H --backup-keep N` writes encrypted
 * backups while serving, keeps the N newest, and reports the last success as
 * keyhold_backup_last_success_timestamp_seconds (the Grafana dashboard alerts on its age).
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { delay, describeRun, httpsCall, keyhold, removeTempDirs, startServe, tempDir, type ServedNode } from '../cli/helpers.js';

const files = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.khb'));

async function backupGauge(node: ServedNode, name: string): Promise<number> {
  const response = await httpsCall(new URL('/metrics', node.adminUrl).href, { method: 'GET', ca: node.ca, headers: {} });
  assert.equal(response.status, 200, response.text);
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(response.text);
  assert.ok(match, `${name} is exported`);
  return Number(match[1]);
}

const lastSuccess = (node: ServedNode) => backupGauge(node, 'keyhold_backup_last_success_timestamp_seconds');

/** Polls until `check` holds (bounded). */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(200);
  }
}

describe('scheduled backups (issue 13)', () => {
  const cwd = tempDir('backup-schedule');
  const passphrase = join(cwd, 'passphrase');
  const dir = join(cwd, 'backups');
  let node: ServedNode | undefined;
  after(async () => {
    await node?.stop();
    removeTempDirs();
  });

  it('backs up every period while serving, keeps the newest N, and exports the last success time', async () => {
    writeFileSync(passphrase, 'scheduled backups passphrase\n', { mode: 0o600 });
    const started = Date.now() / 1000;
    // 0.001 h = 3.6 s between backups.
    const args = [
      '--backup-dir',
      dir,
      '--backup-every',
      '0.001',
      '--backup-keep',
      '2',
      '--backup-passphrase-file',
      passphrase,
      '--metrics-public',
    ];
    node = await startServe({ cwd, dataDirArg: 'data', args });
    const served = node;
    await until('the first backup', async () => (await lastSuccess(served)) > 0);
    const first = await lastSuccess(served);
    assert.ok(first >= started - 1, `${first} is after the start ${started}`);
    await until('two more backups', async () => (await lastSuccess(served)) >= first + 7);
    assert.equal(files(dir).length, 2, `only the 2 newest are kept: ${files(dir).join(', ')}`);
    for (const file of files(dir)) {
      const verify = await keyhold(['backup', 'verify', join(dir, file), '--passphrase-file', passphrase], { cwd });
      assert.equal(verify.code, 0, describeRun(verify));
    }
    assert.doesNotMatch(served.stdout() + served.stderr(), /scheduled backup failed/);
  });

  it("serve --workers 2: one schedule (in the primary), its gauges in every worker's /metrics", async () => {
    const workersDir = join(cwd, 'backups-workers');
    // 0.002 h = 7.2 s between backups: the first at start, then one per period, whichever worker serves.
    const args = ['--workers', '2', '--backup-dir', workersDir, '--backup-every', '0.002', '--backup-keep', '10'];
    const clustered = await startServe({
      cwd,
      dataDirArg: 'data-workers',
      args: [...args, '--backup-passphrase-file', passphrase, '--metrics-public'],
      timeoutMs: 60_000,
    });
    try {
      await until('the first backup', async () => (await lastSuccess(clustered)) > 0);
      const first = await lastSuccess(clustered);
      await delay(2_000);
      // One schedule: one file for the start, not one per worker (each worker's own schedule would write its own).
      assert.equal(files(workersDir).length, 1, files(workersDir).join(', '));
      // Scrapes land on either worker (the kernel spreads connections); each answers the primary's gauges.
      const seen = await Promise.all(Array.from({ length: 6 }, () => lastSuccess(clustered)));
      assert.deepEqual(new Set(seen), new Set([first]));
      assert.equal(await backupGauge(clustered, 'keyhold_backup_failures'), 0);
      await until("the next period's backup", async () => (await lastSuccess(clustered)) >= first + 7, 30_000);
      assert.equal(files(workersDir).length, 2, files(workersDir).join(', '));
      for (const file of files(workersDir)) {
        const verify = await keyhold(['backup', 'verify', join(workersDir, file), '--passphrase-file', passphrase], { cwd });
        assert.equal(verify.code, 0, describeRun(verify));
      }
      assert.doesNotMatch(clustered.stdout() + clustered.stderr(), /scheduled backup failed/);
    } finally {
      await clustered.stop();
    }
  });

  it('refuses --backup-dir without a passphrase file, or with a bad period, in one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--backup-dir', dir], /--backup-dir needs --backup-passphrase-file FILE/],
      [
        ['--backup-dir', dir, '--backup-passphrase-file', passphrase, '--backup-every', '0'],
        /--backup-every: must be a number of hours above 0/,
      ],
      [
        ['--backup-dir', dir, '--backup-passphrase-file', passphrase, '--backup-keep', '0'],
        /--backup-keep: must be a whole number of files, at least 1/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const run = await keyhold(['serve', '--data-dir', join(cwd, 'never'), '--port', '0', ...args], { cwd });
      assert.equal(run.code, 2, describeRun(run));
      assert.match(run.stderr, /^keyhold: [^\n]+\n$/);
      assert.match(run.stderr, pattern);
    }
  });
});
