import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BackupSchedule } from '../../backup/schedule.js';
import type { Clock } from '../../core/clock.js';
import { CliError } from '../cli-error.js';

/** `serve --backup-*` as given (text; checked by backupSettings before anything starts). */
export interface BackupFlags {
  backupDir?: string;
  backupEvery: string;
  backupKeep: string;
  backupPassphraseFile?: string;
  backupWithAudit?: boolean;
}

export interface BackupSettings {
  dir: string;
  everyMs: number;
  keep: number;
  passphraseFile: string;
  withAudit: boolean;
}

export function parseBackupHours(value: string): number {
  const hours = Number(value);
  if (value.trim() === '' || !Number.isFinite(hours) || hours <= 0) throw new InvalidArgumentError('must be a number of hours above 0');
  return hours;
}

/** Checks the flags; undefined when scheduled backups are off. */
export function backupSettings(flags: BackupFlags): BackupSettings | undefined {
  if (flags.backupDir === undefined) return undefined;
  if (flags.backupPassphraseFile === undefined) throw new CliError('--backup-dir needs --backup-passphrase-file FILE', 2);
  if (!existsSync(flags.backupPassphraseFile)) throw new CliError(`no backup passphrase file at ${flags.backupPassphraseFile}`, 2);
  let hours: number;
  try {
    hours = parseBackupHours(flags.backupEvery);
  } catch (error) {
    throw new CliError(`--backup-every: ${error instanceof Error ? error.message : String(error)}`, 2);
  }
  const keep = Number(flags.backupKeep);
  if (!Number.isInteger(keep) || keep < 1) throw new CliError('--backup-keep: must be a whole number of files, at least 1', 2);
  return {
    dir: flags.backupDir,
    everyMs: hours * 3_600_000,
    keep,
    passphraseFile: flags.backupPassphraseFile,
    withAudit: Boolean(flags.backupWithAudit),
  };
}

/**
 * Starts scheduled backups. Each runs `keyhold backup create` as a child process, so reading the whole
 * database (better-sqlite3 reads synchronously) never stalls a node's event loop and XKS answers. One
 * schedule per data directory: in the node's process for `serve`, in the primary for `serve --workers N`
 * (serve-workers.ts), whose workers' GET /metrics carry its gauges (the primary adds them to the sum).
 * The gauges go to `registry`.
 */
export async function scheduleBackups(options: {
  registry: Registry;
  settings: BackupSettings;
  dataDir: string;
  databaseUrl?: string;
  clock: Clock;
  logger: Logger;
}): Promise<BackupSchedule> {
  const { settings, logger } = options;
  // Loaded here so other commands do not load the schedule and the metrics library.
  const [{ startBackupSchedule }, { registerBackupMetrics }] = await Promise.all([
    import('../../backup/schedule.js'),
    import('../../metrics/backup-metrics.js'),
  ]);
  const schedule = startBackupSchedule({
    dir: settings.dir,
    everyMs: settings.everyMs,
    keep: settings.keep,
    clock: options.clock,
    run: (file) =>
      runChild([
        '--data-dir',
        options.dataDir,
        'backup',
        'create',
        '--out',
        file,
        '--passphrase-file',
        settings.passphraseFile,
        '--scheduled',
        ...(settings.withAudit ? ['--with-audit'] : []),
        ...(options.databaseUrl ? ['--database-url', options.databaseUrl] : []),
      ]),
    onSuccess: (file) => logger.info({ event: 'backup.create', file }, 'scheduled backup written'),
    onFailure: (reason) => logger.error({ event: 'backup.failed', reason }, 'scheduled backup failed'),
  });
  registerBackupMetrics(options.registry, schedule);
  return schedule;
}

function runChild(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(stderr.trim().split('\n').at(-1) ?? `keyhold backup create exited with ${code}`));
    });
  });
}
