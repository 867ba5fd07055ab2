/**
 * Backup and restore time at N keys (default 100,000): `node bench/backup-restore.mjs [keys]` after
 * `npm run build`. Seeds a fresh data directory (bench/seed-keys.mjs), then times the CLI itself:
 * `keyhold backup create`, `keyhold backup verify --passphrase-file`, `keyhold backup restore` into a new
 * directory (every key version opened by the root of trust first), and, when KEYHOLD_BENCH_PG_URL names an
 * empty PostgreSQL database, `keyhold migrate --to` it. Prints one JSON line of figures.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDirPaths } from '../dist/core/data-dir.js';
import { initDataDir } from '../dist/server/init.js';
import { seedKeys } from './seed-keys.mjs';

const count = Number(process.argv[2] ?? 100_000);
const clock = { now: () => Date.now() };
const work = mkdtempSync(join(tmpdir(), 'keyhold-bench-backup-'));
const bin = new URL('../bin/keyhold.js', import.meta.url).pathname;

function timed(label, args) {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`${label} failed: ${run.stderr}`);
  return Math.round(seconds * 100) / 100;
}

try {
  const source = join(work, 'source');
  await initDataDir({ dataDir: source, demo: true, clock });
  const seedStart = Date.now();
  await seedKeys({ paths: dataDirPaths(source), keystoreName: 'demo', count, clock });
  const seedSeconds = (Date.now() - seedStart) / 1000;
  const passphrase = join(work, 'passphrase');
  writeFileSync(passphrase, 'bench passphrase 1234\n', { mode: 0o600 });
  const file = join(work, 'bench.khb');
  const figures = { keys: count, seedSeconds };
  figures.backupSeconds = timed('backup create', [
    '--data-dir',
    source,
    'backup',
    'create',
    '--out',
    file,
    '--passphrase-file',
    passphrase,
  ]);
  figures.backupBytes = statSync(file).size;
  figures.databaseBytes = statSync(join(source, 'keyhold.db')).size;
  figures.verifySeconds = timed('backup verify', ['backup', 'verify', file, '--passphrase-file', passphrase]);
  const target = join(work, 'target');
  mkdirSync(target, { mode: 0o700 });
  copyFileSync(join(source, 'master.key'), join(target, 'master.key'));
  figures.restoreSeconds = timed('backup restore', ['--data-dir', target, 'backup', 'restore', file, '--passphrase-file', passphrase]);
  if (process.env.KEYHOLD_BENCH_PG_URL) {
    figures.migrateSeconds = timed('migrate', ['--data-dir', source, 'migrate', '--to', process.env.KEYHOLD_BENCH_PG_URL]);
  }
  console.log(JSON.stringify(figures));
} finally {
  rmSync(work, { recursive: true, force: true });
}
