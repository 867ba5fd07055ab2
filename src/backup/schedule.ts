import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';

/** Scheduled backups' files: `keyhold-<UTC time>.khb`, so names sort by age. */
const FILE = /^keyhold-\d{8}T\d{6}Z\.khb$/;
const fileName = (now: number) =>
  `keyhold-${new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}.khb`;

export interface BackupScheduleOptions {
  dir: string;
  everyMs: number;
  /** How many backup files to keep (the oldest beyond are deleted after each success). */
  keep: number;
  clock: Clock;
  /** Writes one backup to `file` (serve: a `keyhold backup create` child process, off the node's event loop). */
  run: (file: string) => Promise<void>;
  onSuccess?: (file: string, at: number) => void;
  onFailure?: (reason: string) => void;
}

export interface BackupSchedule {
  /** Epoch ms of the last backup written (by this schedule, or found in the directory at start). */
  lastSuccess(): number | undefined;
  failures(): number;
  /** Takes a backup now (one at a time; a call while one runs waits for it). */
  runNow(): Promise<void>;
  close(): void;
}

/**
 * `serve --backup-dir DIR --backup-every H --backup-keep N`: a backup every H hours (the first at start
 * unless the newest file in DIR is younger than H), the N newest kept. Its age is a metric
 * (keyhold_backup_last_success_timestamp_seconds) that the Grafana dashboard alerts on.
 */
export function startBackupSchedule(options: BackupScheduleOptions): BackupSchedule {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const existing = backupFiles(options.dir);
  const newest = existing.at(-1);
  let last: number | undefined = newest === undefined ? undefined : statSync(join(options.dir, newest)).mtimeMs;
  let failures = 0;
  let running: Promise<void> | undefined;
  let closed = false;

  async function once(): Promise<void> {
    const at = options.clock.now();
    const file = join(options.dir, fileName(at));
    try {
      await options.run(file);
      last = at;
      options.onSuccess?.(file, at);
      for (const old of backupFiles(options.dir).slice(0, -options.keep)) rmSync(join(options.dir, old), { force: true });
    } catch (error) {
      failures++;
      options.onFailure?.(error instanceof Error ? error.message : String(error));
    }
  }
  const runNow = (): Promise<void> => {
    running ??= once().finally(() => (running = undefined));
    return running;
  };
  const tick = () => {
    if (!closed && (last === undefined || options.clock.now() - last >= options.everyMs)) void runNow();
  };
  // Checked often enough that a backup is at most a minute (or a tenth of the period) late.
  const timer = setInterval(tick, Math.min(60_000, Math.max(1000, options.everyMs / 10)));
  timer.unref();
  setImmediate(tick);
  return {
    lastSuccess: () => last,
    failures: () => failures,
    runNow,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}

function backupFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => FILE.test(name))
    .sort();
}
