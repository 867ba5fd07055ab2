import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import type { DatabaseConnection } from '../storage/connection.js';
import type { Audit, AuditStatusView } from './audit.js';
import type { AuditMode } from './audit-log.js';
import { openCheckpointSigner } from './checkpoint-signing.js';
import { startSyslogForwarder } from './forward-to-syslog.js';
import { openAuditLog } from './open-audit-log.js';
import { auditAdminSink, auditXksRecorder } from './recorders.js';
import { applyRetention } from './retention.js';
import { AuditSpool } from './spool.js';
import { createAuditStore } from './sql-audit-store.js';
import { openSqliteAppender, type AuditAppender, type AuditSync } from './sqlite-appender.js';
import type { SyslogTarget } from './syslog-forwarder.js';
import { verifyAuditLog } from './verify.js';

export interface AuditConfig {
  mode?: AuditMode;
  /** SQLite only: `full` (default) fsyncs every commit; `normal` survives a process crash, not power loss. */
  sync?: AuditSync;
  syslog?: SyslogTarget;
  /** Delete events older than this many days (up to a signed checkpoint); absent: keep everything. */
  retentionDays?: number;
  checkpointEvery?: number;
  checkpointIntervalMs?: number;
  maxBatch?: number;
  flushDelayMs?: number;
  lossyQueueLimit?: number;
  retryIntervalMs?: number;
  syslogAckDelayMs?: number;
  syslogPollMs?: number;
  syslogMaxBackoffMs?: number;
  /** How often retention runs (default hourly, and once at start). */
  retentionIntervalMs?: number;
}

/** The audit log of one node: chain writer, recorders for both planes, forwarding, retention, search. */
export async function startAudit(options: {
  database: DatabaseConnection;
  root: RootOfTrust;
  nodeId: string;
  /** The SQLite file, when the database is SQLite: commits go to it from a writer thread. */
  sqlitePath: string;
  /** This chain's local spool (the data directory's audit-spool.jsonl, or a worker's); one file per chain. */
  spoolPath: string;
  clock: Clock;
  logger: Logger;
  config?: AuditConfig;
  /** Told of each batch committed to the database: how long the commit took and how many events it held (metrics). */
  onCommit?: (latencyMs: number, events: number) => void;
}): Promise<Audit> {
  const config = options.config ?? {};
  const audit = createAuditStore(options.database);
  const chain = options.nodeId;
  const signer = await openCheckpointSigner({ audit, root: options.root, chain, now: options.clock.now() });
  // On SQLite, commits (and their fsync) run on a writer thread so they never stall the event loop.
  const appender: AuditAppender | undefined =
    options.database.dialect === 'sqlite' ? openSqliteAppender(options.sqlitePath, audit, config.sync) : undefined;
  const log = await openAuditLog({
    audit,
    appender: options.onCommit ? timedAppender(appender ?? audit, options.onCommit) : appender,
    chain,
    signer,
    spool: new AuditSpool(options.spoolPath),
    clock: options.clock,
    logger: options.logger,
    mode: config.mode,
    maxBatch: config.maxBatch,
    flushDelayMs: config.flushDelayMs,
    checkpointEvery: config.checkpointEvery,
    checkpointIntervalMs: config.checkpointIntervalMs,
    lossyQueueLimit: config.lossyQueueLimit,
    retryIntervalMs: config.retryIntervalMs,
  });
  const forwarder = config.syslog
    ? await startSyslogForwarder({
        audit,
        chain,
        target: config.syslog,
        logger: options.logger,
        ackDelayMs: config.syslogAckDelayMs,
        pollMs: config.syslogPollMs,
        maxBackoffMs: config.syslogMaxBackoffMs,
      })
    : undefined;
  const stopWaking = forwarder ? log.onCommit(() => forwarder.wake()) : () => {};

  async function runRetention() {
    if (config.retentionDays === undefined) return { deleted: 0 };
    const result = await applyRetention(audit, chain, config.retentionDays, options.clock.now(), Boolean(forwarder));
    if (result.deleted > 0)
      options.logger.info({ event: 'audit.retention', ...result }, 'old audit events deleted up to a signed checkpoint');
    return result;
  }
  let retentionTimer: NodeJS.Timeout | undefined;
  if (config.retentionDays !== undefined) {
    await runRetention();
    retentionTimer = setInterval(() => void runRetention().catch(() => undefined), config.retentionIntervalMs ?? 3_600_000);
    retentionTimer.unref();
  }

  return {
    chain,
    log,
    store: audit,
    recorder: auditXksRecorder(log, options.clock),
    adminEvents: auditAdminSink(log, options.clock),
    forwarder,
    runRetention,
    status(): AuditStatusView {
      return { ...log.status(), publicKey: log.publicKeyPem, retentionDays: config.retentionDays, syslog: forwarder?.status() };
    },
    search: (query) => audit.search(query),
    latestCheckpoint: () => audit.latestCheckpoint(chain),
    verify: (verifyOptions) => verifyAuditLog(audit, verifyOptions),
    async close(): Promise<void> {
      if (retentionTimer) clearInterval(retentionTimer);
      stopWaking();
      await log.close();
      await appender?.close?.();
      await forwarder?.stop();
    },
  };
}

/** Reports each successful batch commit (its duration and size) to `onCommit`. */
function timedAppender(appender: AuditAppender, onCommit: (latencyMs: number, events: number) => void): AuditAppender {
  return {
    async appendBatch(events, epoch, canonical) {
      const started = performance.now();
      await appender.appendBatch(events, epoch, canonical);
      if (events.length > 0) onCommit(performance.now() - started, events.length);
    },
    pipelineDepth: () => appender.pipelineDepth?.() ?? 1,
    ...(appender.addCheckpoint ? { addCheckpoint: appender.addCheckpoint.bind(appender) } : {}),
  };
}
