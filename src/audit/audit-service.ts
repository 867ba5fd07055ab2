import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import type { Store } from '../storage/store.js';
import type { AdminEventSink } from './admin-events.js';
import { openAuditLog, type AuditMode, type AuditStatus } from './audit-log.js';
import { createAuditStore, type AuditQuery, type Checkpoint } from './audit-store.js';
import { openCheckpointSigner } from './checkpoint-signing.js';
import { auditAdminSink, auditXksRecorder } from './recorders.js';
import { applyRetention } from './retention.js';
import { AuditSpool } from './spool.js';
import { openSqliteAppender, type AuditAppender, type AuditSync } from './sqlite-appender.js';
import { startSyslogForwarder, type SyslogForwarder, type SyslogTarget } from './syslog-forwarder.js';
import { verifyAuditLog, type VerifyOptions } from './verify.js';
import type { XksRecorder } from '../xks/pipeline-ports.js';

/** The spool of a single-process node's chain; worker N of `serve --workers` uses `audit-spool-wN.jsonl`. */
export const AUDIT_SPOOL_FILE = 'audit-spool.jsonl';
export const workerSpoolFile = (worker: number) => `audit-spool-w${worker}.jsonl`;

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

export interface AuditStatusView extends AuditStatus {
  publicKey: string;
  retentionDays?: number;
  syslog?: ReturnType<SyslogForwarder['status']>;
}

/** The audit log of one node: chain writer, recorders for both planes, forwarding, retention, search. */
export async function startAudit(options: {
  store: Store;
  root: RootOfTrust;
  nodeId: string;
  dataDir: string;
  /** The SQLite file when the store is SQLite (default: the data directory's keyhold.db). */
  sqlitePath?: string;
  /** This chain's local spool (default: the data directory's audit-spool.jsonl); one file per chain. */
  spoolPath?: string;
  clock: Clock;
  logger: Logger;
  config?: AuditConfig;
  /** Told of each batch committed to the database: how long the commit took and how many events it held (metrics). */
  onCommit?: (latencyMs: number, events: number) => void;
}) {
  const config = options.config ?? {};
  const audit = createAuditStore(options.store);
  const chain = options.nodeId;
  const signer = await openCheckpointSigner({ audit, root: options.root, chain, now: options.clock.now() });
  // On SQLite, commits (and their fsync) run on a writer thread so they never stall the event loop.
  const appender: AuditAppender | undefined =
    options.store.dialect === 'sqlite'
      ? await openSqliteAppender(options.sqlitePath ?? join(options.dataDir, 'keyhold.db'), audit, config.sync)
      : undefined;
  const log = await openAuditLog({
    audit,
    appender: options.onCommit ? timedAppender(appender ?? audit, options.onCommit) : appender,
    chain,
    signer,
    spool: new AuditSpool(options.spoolPath ?? join(options.dataDir, AUDIT_SPOOL_FILE)),
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

  const recorder: XksRecorder = auditXksRecorder(log, options.clock);
  const adminEvents: AdminEventSink = auditAdminSink(log, options.clock);

  return {
    chain,
    log,
    store: audit,
    recorder,
    adminEvents,
    forwarder,
    runRetention,
    status(): AuditStatusView {
      return { ...log.status(), publicKey: log.publicKeyPem, retentionDays: config.retentionDays, syslog: forwarder?.status() };
    },
    search: (query: AuditQuery) => audit.search(query),
    latestCheckpoint: (): Promise<Checkpoint | undefined> => audit.latestCheckpoint(chain),
    verify: (verifyOptions?: VerifyOptions) => verifyAuditLog(audit, verifyOptions),
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
    async appendBatch(events) {
      const started = performance.now();
      await appender.appendBatch(events);
      if (events.length > 0) onCommit(performance.now() - started, events.length);
    },
  };
}

export type Audit = Awaited<ReturnType<typeof startAudit>>;
