import { Gauge, type Registry } from 'prom-client';

/** Where the scheduled backups' gauges read from at scrape time. */
export interface BackupMetricSources {
  /** Epoch ms of the last backup written, undefined before the first. */
  lastSuccess(): number | undefined;
  failures(): number;
}

/**
 * keyhold_backup_last_success_timestamp_seconds (the dashboard alerts when it is older than the period
 * allows) and keyhold_backup_failures (since the node started). Only on nodes with scheduled backups.
 */
export function registerBackupMetrics(registry: Registry, sources: BackupMetricSources): void {
  new Gauge({
    name: 'keyhold_backup_last_success_timestamp_seconds',
    help: 'Unix time of the last scheduled backup written (0 before the first)',
    registers: [registry],
    collect() {
      this.set((sources.lastSuccess() ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'keyhold_backup_failures',
    help: 'Scheduled backups that failed since the node started',
    registers: [registry],
    collect() {
      this.set(sources.failures());
    },
  });
}
