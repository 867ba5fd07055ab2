import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { AUDIT_MODES, type AuditMode } from '../../audit/audit-log.js';
import { AUDIT_SYNCS, type AuditSync } from '../../audit/sqlite-appender.js';
import { parseSyslogUrl, type SyslogTarget } from '../../audit/syslog-forwarder.js';
import { KEYHOLD_VERSION } from '../../core/version.js';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_SHED_AFTER_MS, DEFAULT_SHED_ON_LAG_MS } from '../../throttle/admission.js';
import { parseWorkers } from '../../server/cluster/workers-option.js';
import { defaultRequestLog, parseRequestLog } from '../../xks/request-log.js';
import { strandedSpoolProblem } from '../../server/cluster/spools.js';
import { dataDirPaths, resolveDataDir } from '../../core/data-dir.js';
import { stopOnSignals } from '../shutdown.js';
import { CliError, errorCode, errorMessage } from '../cli-error.js';
import { consoleBanner, display, firstRunBanner, laterRunBanner, servingLine } from '../quickstart-banner.js';
import { sealedNotice } from '../shares-banner.js';
import { backupSettings, scheduleBackups, type BackupFlags } from './serve-backups.js';
import { databaseUrlOption } from '../secret-option.js';
import { networkSettings, registerNetworkOptions, type NetworkFlags } from './serve-network.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return port;
}

export function parseAuditSync(value: string): AuditSync {
  const sync = AUDIT_SYNCS.find((known) => known === value);
  if (sync === undefined) throw new InvalidArgumentError(`must be one of ${AUDIT_SYNCS.join(', ')}`);
  return sync;
}

export function parseAuditMode(value: string): AuditMode {
  const mode = AUDIT_MODES.find((known) => known === value);
  if (mode === undefined) throw new InvalidArgumentError(`must be one of ${AUDIT_MODES.join(', ')}`);
  return mode;
}

function parseSyslog(value: string): string {
  try {
    parseSyslogUrl(value);
  } catch (error) {
    throw new InvalidArgumentError(errorMessage(error));
  }
  return value;
}

function parseRetentionDays(value: string): number {
  const days = Number(value);
  if (!Number.isInteger(days) || days < 1) throw new InvalidArgumentError('must be a whole number of days, at least 1');
  return days;
}

/** A whole number, 0 or more, given as text (an empty value is not 0); `what` ends the error: `… of <what>`. */
function parseWholeNumber(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`must be a whole number of ${what}`);
  return n;
}

const parseMaxInFlight = (value: string) => parseWholeNumber(value, 'requests, 0 for no limit');

/** A shedding threshold in ms: under KMS's 250 ms deadline, or 0 for `never` (the error names what 0 means). */
function parseSheddingMs(value: string, never: string): number {
  const ms = parseWholeNumber(value, `milliseconds, ${never}`);
  if (ms >= 250) throw new InvalidArgumentError(`must be under 250 (KMS gives up on a request after 250 ms), ${never}`);
  return ms;
}

const parseShedAfterMs = (value: string) => parseSheddingMs(value, '0 to never shed');
const parseShedOnLagMs = (value: string) => parseSheddingMs(value, '0 to never shed on lag');

interface ServeOptions extends NetworkFlags {
  dataDir?: string;
  host: string;
  port: number;
  databaseUrl?: string;
  logLevel: string;
  /** `--request-log` / $KEYHOLD_REQUEST_LOG, as text; absent: by audit mode (request-log.ts). */
  requestLog?: string;
  /** Audit flags (and their environment defaults) arrive as text and are checked in serve(). */
  auditMode: string;
  auditSync: string;
  syslog?: string;
  syslogCa?: string;
  auditRetentionDays?: string;
  metricsPublic?: boolean;
  /** Throttle flags (and their environment defaults) arrive as text and are checked in serve(). */
  maxInFlight: string;
  shedAfterMs: string;
  shedOnLagMs: string;
  /** `--workers` / $KEYHOLD_WORKERS, as text: a number or `auto`. */
  workers: string;
}

type ServeFlags = ServeOptions & BackupFlags;

export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description('serve the XKS proxy and the admin API over HTTPS (initializes the data directory on first run)')
    .option('--host <host>', 'address to listen on', process.env.KEYHOLD_HOST ?? '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, Number(process.env.KEYHOLD_PORT ?? 8443))
    .option('--database-url <url>', 'PostgreSQL URL (default: $KEYHOLD_DATABASE_URL, else SQLite in the data directory)')
    .option('--log-level <level>', 'log level (info logs XKS requests as --request-log says)', process.env.KEYHOLD_LOG_LEVEL ?? 'info')
    .option(
      '--request-log <which>',
      'XKS requests logged at info: errors (successes are recorded by their audit event; default unless --audit-mode lossy) | all ($KEYHOLD_REQUEST_LOG)',
      process.env.KEYHOLD_REQUEST_LOG || undefined,
    )
    .option(
      '--audit-mode <mode>',
      'durable (answer after commit; spool if the database is down) | fail-closed | lossy ($KEYHOLD_AUDIT_MODE)',
      process.env.KEYHOLD_AUDIT_MODE || 'durable',
    )
    .option(
      '--audit-sync <level>',
      'SQLite audit commits: full (fsync each; survives power loss) | normal (survives a process crash, not power loss) ($KEYHOLD_AUDIT_SYNC)',
      process.env.KEYHOLD_AUDIT_SYNC || 'full',
    )
    .option(
      '--syslog <url>',
      'forward audit events to tcp://host:port or tls://host:port (RFC 5424, octet counting) ($KEYHOLD_SYSLOG)',
      process.env.KEYHOLD_SYSLOG || undefined,
    )
    .option('--syslog-ca <file>', 'CA certificate (PEM) for tls:// syslog ($KEYHOLD_SYSLOG_CA)', process.env.KEYHOLD_SYSLOG_CA)
    .option(
      '--audit-retention-days <n>',
      'delete audit events older than N days, up to a signed checkpoint ($KEYHOLD_AUDIT_RETENTION_DAYS)',
      process.env.KEYHOLD_AUDIT_RETENTION_DAYS || undefined,
    )
    .option(
      '--metrics-public',
      'serve GET /metrics without a token (default: a token with metrics:read) ($KEYHOLD_METRICS_PUBLIC=true)',
      process.env.KEYHOLD_METRICS_PUBLIC === 'true',
    )
    .option(
      '--max-in-flight <n>',
      'requests working at once on this node; more answer 429 ThrottlingException, 0 for no limit ($KEYHOLD_MAX_IN_FLIGHT)',
      process.env.KEYHOLD_MAX_IN_FLIGHT || String(DEFAULT_MAX_IN_FLIGHT),
    )
    .option(
      '--shed-after-ms <ms>',
      'answer 429 to a request that waited this long before its work started, 0 to never ($KEYHOLD_SHED_AFTER_MS)',
      process.env.KEYHOLD_SHED_AFTER_MS || String(DEFAULT_SHED_AFTER_MS),
    )
    .option(
      '--shed-on-lag-ms <ms>',
      'while the event loop runs this late, answer 429 to a growing share of new requests (until it is back to half of it); default 0: never ($KEYHOLD_SHED_ON_LAG_MS)',
      process.env.KEYHOLD_SHED_ON_LAG_MS || String(DEFAULT_SHED_ON_LAG_MS),
    )
    .option(
      '--workers <n>',
      'worker processes serving on the same port: a number, or auto for one per core (docs/workers.md) ($KEYHOLD_WORKERS)',
      process.env.KEYHOLD_WORKERS || '1',
    )
    .option(
      '--backup-dir <dir>',
      'take encrypted backups into this directory on a schedule (docs/backup.md) ($KEYHOLD_BACKUP_DIR)',
      process.env.KEYHOLD_BACKUP_DIR,
    )
    .option('--backup-every <hours>', 'hours between scheduled backups ($KEYHOLD_BACKUP_EVERY)', process.env.KEYHOLD_BACKUP_EVERY || '24')
    .option('--backup-keep <n>', 'scheduled backup files to keep ($KEYHOLD_BACKUP_KEEP)', process.env.KEYHOLD_BACKUP_KEEP || '7')
    .option(
      '--backup-passphrase-file <file>',
      "the scheduled backups' passphrase, first line of this file ($KEYHOLD_BACKUP_PASSPHRASE_FILE)",
      process.env.KEYHOLD_BACKUP_PASSPHRASE_FILE,
    )
    .option('--backup-with-audit', 'scheduled backups include the whole audit log');
  registerNetworkOptions(command).action(async (_options, command: Command) => {
    await serve(command.optsWithGlobals<ServeFlags>());
  });
}

async function serve(options: ServeFlags): Promise<void> {
  // Audit and throttle settings are checked before anything is initialized, so a bad one leaves nothing behind.
  const checked = <T>(name: string, parse: (value: string) => T, value: string): T => {
    try {
      return parse(value);
    } catch (error) {
      throw new CliError(`${name}: ${errorMessage(error)}`, 2);
    }
  };
  const auditMode = checked('--audit-mode / $KEYHOLD_AUDIT_MODE', parseAuditMode, options.auditMode);
  const auditSync = checked('--audit-sync / $KEYHOLD_AUDIT_SYNC', parseAuditSync, options.auditSync);
  const requestLog =
    options.requestLog === undefined
      ? defaultRequestLog(auditMode)
      : checked('--request-log / $KEYHOLD_REQUEST_LOG', parseRequestLog, options.requestLog);
  const retentionDays =
    options.auditRetentionDays === undefined
      ? undefined
      : checked('--audit-retention-days / $KEYHOLD_AUDIT_RETENTION_DAYS', parseRetentionDays, options.auditRetentionDays);
  if (options.syslog) checked('--syslog / $KEYHOLD_SYSLOG', parseSyslog, options.syslog);
  let syslog: SyslogTarget | undefined;
  if (options.syslog) {
    if (options.syslogCa !== undefined && !existsSync(options.syslogCa))
      throw new CliError(`no syslog CA certificate at ${options.syslogCa}`);
    syslog = parseSyslogUrl(options.syslog, options.syslogCa === undefined ? undefined : readFileSync(options.syslogCa));
  }
  const audit = { mode: auditMode, sync: auditSync, syslog, retentionDays };
  const throttle = {
    maxInFlight: checked('--max-in-flight / $KEYHOLD_MAX_IN_FLIGHT', parseMaxInFlight, options.maxInFlight),
    shedAfterMs: checked('--shed-after-ms / $KEYHOLD_SHED_AFTER_MS', parseShedAfterMs, options.shedAfterMs),
    shedOnLagMs: checked('--shed-on-lag-ms / $KEYHOLD_SHED_ON_LAG_MS', parseShedOnLagMs, options.shedOnLagMs),
  };
  const network = networkSettings(options);
  const workers = checked('--workers / $KEYHOLD_WORKERS', (value) => parseWorkers(value, availableParallelism), options.workers);
  const backups = backupSettings(options);
  if (network.peerUnseal && workers > 1)
    throw new CliError('--peer-unseal runs one peer listener per node: use it without --workers (docs/fleet.md#unseal)', 2);
  // Loaded here so management commands do not pay for the server's modules.
  const [{ createLogger, flushLogger }, { systemClock }, { DEMO_KEY, DEMO_KEYSTORE, initDataDir }, { startNode }] = await Promise.all([
    import('../../server/logger.js'),
    import('../../core/clock.js'),
    import('../../server/init.js'),
    import('../../server/node.js'),
  ]);
  const dataDir = resolveDataDir(options.dataDir);
  const paths = dataDirPaths(dataDir);
  const databaseUrl = databaseUrlOption(options.databaseUrl);
  const startFailure = (error: unknown): Error =>
    errorCode(error) === 'EADDRINUSE'
      ? new CliError(
          network.adminListener
            ? `port ${options.port} on ${options.host} or admin port ${network.adminListener.port} on ${network.adminListener.host} is already in use; pass --port / --admin-port`
            : `port ${options.port} on ${options.host} is already in use; pass --port`,
        )
      : error instanceof Error
        ? error
        : new Error(String(error));
  const nodeSettings = {
    dataDir,
    host: options.host,
    port: options.port,
    databaseUrl,
    clock: systemClock,
    audit,
    throttle,
    metricsPublic: options.metricsPublic,
    requestLog,
    ...network,
  };
  const cluster = { node: nodeSettings, logLevel: options.logLevel, workers, startFailure, backups };
  const withWorkers = workers > 1 ? await import('./serve-workers.js') : undefined;
  // A worker forked by the primary below: the primary prepared the data directory already.
  const index = withWorkers?.workerIndex();
  if (withWorkers && index !== undefined) return withWorkers.serveAsWorker({ ...cluster, index });

  const firstRun = !existsSync(dataDir) || readdirSync(dataDir).length === 0;
  if (!firstRun && !existsSync(paths.nodeId)) {
    throw new CliError(`${dataDir} is not a Keyhold data directory (no node-id); give an empty or new directory to initialize one`);
  }
  const stranded = firstRun ? undefined : strandedSpoolProblem(dataDir, workers);
  if (stranded) throw new CliError(stranded);
  if (withWorkers) return withWorkers.serveAsPrimary({ ...cluster, firstRun });
  const initResult = firstRun ? await initDataDir({ dataDir, databaseUrl, demo: true, clock: systemClock }) : undefined;
  const logger = createLogger({ level: options.logLevel });
  let node;
  try {
    node = await startNode({ ...nodeSettings, logger });
  } catch (error) {
    // A first run that cannot serve leaves nothing behind, so the next try shows the secret again.
    if (initResult) rmSync(dataDir, { recursive: true, force: true });
    throw startFailure(error);
  }
  // Scheduled before the serving line, so its metrics are there from the first scrape.
  let schedule;
  try {
    schedule =
      backups &&
      (await scheduleBackups({ registry: node.metricsRegistry, settings: backups, dataDir, databaseUrl, clock: systemClock, logger }));
  } catch (error) {
    await node.close();
    throw error;
  }
  console.log(`Keyhold v${KEYHOLD_VERSION} ${servingLine(node)} (data: ${display(dataDir)})`);
  console.log(
    initResult
      ? firstRunBanner(initResult, node.url)
      : laterRunBanner(paths, node.services.live, node.url, { keystore: DEMO_KEYSTORE, key: DEMO_KEY }),
  );
  console.log(consoleBanner(node.adminUrl, paths));
  const seal = node.unseal.status();
  if (seal.sealed) console.log(sealedNotice(seal));

  // SIGHUP: read the TLS certificate and key again (they are also reloaded when the files change).
  process.on('SIGHUP', () => {
    node.reloadTls();
  });
  stopOnSignals({
    logger,
    message: 'shutting down',
    close: () => {
      schedule?.close();
      return node.close().then(() => flushLogger(logger));
    },
  });
}
