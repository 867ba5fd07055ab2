import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { AuditStatusView } from '../../audit/audit.js';
import type { ChainedAuditEvent } from '../../audit/event.js';
import { isJsonObject } from '../../core/json.js';
import { MAX_WORKERS } from '../../server/cluster/workers-option.js';
import { workerNodeId } from '../../server/cluster/node-membership.js';
import { dataDirPaths, resolveDataDir } from '../../core/data-dir.js';
import { callAdmin } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { printJson, printRecord, printTable } from '../output.js';
import { adminConnection, globalFlags, jsonOutput } from '../global-flags.js';
import { databaseUrlOption } from '../secret-option.js';

function parseWorkerNumber(value: string): number {
  const worker = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(worker >= 1 && worker <= MAX_WORKERS)) throw new InvalidArgumentError(`must be a worker number from 1 to ${MAX_WORKERS}`);
  return worker;
}

interface SearchFlags {
  key?: string;
  keystore?: string;
  requestId?: string;
  principal?: string;
  outcome?: string;
  action?: string;
  from?: string;
  to?: string;
  limit?: string;
  cursor?: string;
}

interface EventPage {
  events: ChainedAuditEvent[];
  nextCursor: string | null;
}

function searchQuery(flags: SearchFlags, extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  const add = (name: string, value: string | undefined) => value !== undefined && params.set(name, value);
  add('keyId', flags.key);
  add('keystore', flags.keystore);
  add('kmsRequestId', flags.requestId);
  add('principal', flags.principal);
  add('outcome', flags.outcome);
  add('action', flags.action);
  add('from', flags.from);
  add('to', flags.to);
  add('limit', flags.limit);
  add('cursor', flags.cursor);
  for (const [name, value] of Object.entries(extra)) add(name, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

function filterOptions(command: Command): Command {
  return command
    .option('--key <id>', 'only this key id')
    .option('--keystore <name>', 'only this keystore')
    .option('--outcome <outcome>', 'success | error | denied (XKS), success | failure | denied (admin)')
    .option('--from <time>', 'from this time (ISO 8601 or epoch ms), inclusive')
    .option('--to <time>', 'until this time (ISO 8601 or epoch ms), exclusive');
}

/** Opens the data directory's database (or --database-url / $KEYHOLD_DATABASE_URL) directly. */
async function openAuditDatabase(flags: { dataDir?: string; databaseUrl?: string }) {
  const paths = dataDirPaths(resolveDataDir(flags.dataDir));
  const databaseUrl = databaseUrlOption(flags.databaseUrl);
  if (!databaseUrl && !existsSync(paths.database))
    throw new CliError(`no Keyhold database in ${paths.root}; pass --data-dir or --database-url`);
  const [{ openDatabase }, { createAuditStore }] = await Promise.all([
    import('../../storage/open-database.js'),
    import('../../audit/sql-audit-store.js'),
  ]);
  const store = await openDatabase({ databaseUrl, sqlitePath: paths.database });
  return { store, audit: createAuditStore(store), paths };
}

function readJsonFile(file: string, what: string): unknown {
  if (!existsSync(file)) throw new CliError(`no ${what} at ${file}`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new CliError(`${file} is not a ${what} (not JSON)`);
  }
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log: search, export, checkpoints, verification');

  audit
    .command('verify')
    .description('check every hash link and checkpoint signature, directly on the database (works with the node down)')
    .option('--checkpoint <file>', 'a checkpoint exported earlier with `keyhold audit checkpoint` (detects a truncated tail)')
    .option('--public-key <file>', "the chain's public key (PEM) to pin; default: the one in the checkpoint file")
    .option('--database-url <url>', "PostgreSQL URL (default: $KEYHOLD_DATABASE_URL, else the data directory's SQLite)")
    .action(async (options: { checkpoint?: string; publicKey?: string; databaseUrl?: string }, command: Command) => {
      const checkpoint =
        options.checkpoint === undefined
          ? undefined
          : parseCheckpointFile(readJsonFile(options.checkpoint, 'checkpoint file'), options.checkpoint);
      let publicKeyPem = checkpoint?.publicKey;
      if (options.publicKey !== undefined) {
        if (!existsSync(options.publicKey)) throw new CliError(`no public key at ${options.publicKey}`);
        publicKeyPem = readFileSync(options.publicKey, 'utf8');
        if (!publicKeyPem.includes('BEGIN PUBLIC KEY')) throw new CliError(`${options.publicKey} is not a PEM public key`);
      }
      if (publicKeyPem !== undefined && !checkpoint)
        throw new CliError("--public-key pins the key of a checkpoint's chain; give --checkpoint too");
      const { store, audit: auditStore } = await openAuditDatabase({
        dataDir: globalFlags(command).dataDir,
        databaseUrl: options.databaseUrl,
      });
      try {
        const { verifyAuditLog } = await import('../../audit/verify.js');
        const report = await verifyAuditLog(auditStore, { checkpoint, publicKeyPem });
        if (jsonOutput(command)) printJson(report);
        else {
          for (const chain of report.chains) {
            const range = chain.firstSeq === undefined ? 'no events' : `events ${chain.firstSeq}-${chain.lastSeq}`;
            const state = chain.problem ? `BROKEN at seq ${chain.problem.seq} (${chain.problem.kind}): ${chain.problem.detail}` : 'ok';
            console.log(`chain ${chain.chain}: ${range}, ${chain.checkpointsVerified} checkpoint(s) verified: ${state}`);
          }
          if (report.chains.length === 0) console.log('no audit chains yet');
        }
        for (const { chain, problem } of report.chains) {
          if (problem) throw new CliError(`audit log is not intact: chain ${chain}, seq ${problem.seq}: ${problem.kind}`);
        }
      } finally {
        await store.close();
      }
    });

  audit
    .command('checkpoint')
    .description("print the latest signed checkpoint of this node's chain as JSON (keep it: `audit verify --checkpoint`)")
    .option('--database-url <url>', "PostgreSQL URL (default: $KEYHOLD_DATABASE_URL, else the data directory's SQLite)")
    .option('--worker <n>', 'the chain of worker N of `serve --workers` (each worker keeps its own chain)', parseWorkerNumber)
    .action(async (options: { databaseUrl?: string; worker?: number }, command: Command) => {
      const {
        store,
        audit: auditStore,
        paths,
      } = await openAuditDatabase({ dataDir: globalFlags(command).dataDir, databaseUrl: options.databaseUrl });
      try {
        if (!existsSync(paths.nodeId)) throw new CliError(`${paths.root} is not a Keyhold data directory (no node-id)`);
        const chain = workerNodeId(
          readFileSync(paths.nodeId, 'utf8').trim(),
          options.worker === undefined ? undefined : { index: options.worker },
        );
        const checkpoint = await auditStore.latestCheckpoint(chain);
        if (!checkpoint) throw new CliError(`no signed checkpoint yet for chain ${chain}`);
        const chainRow = await auditStore.getChain(chain);
        if (!chainRow) throw new CliError(`no public key stored for chain ${chain}`);
        printJson({ ...checkpoint, publicKey: chainRow.publicKey });
      } finally {
        await store.close();
      }
    });

  filterOptions(
    audit
      .command('search')
      .description('search audit events by key, keystore, request id, principal, time, outcome (oldest first, paginated)')
      .option('--request-id <id>', 'only this kmsRequestId')
      .option('--principal <arn>', 'only this AWS principal ARN')
      .option('--action <action>', 'only this action (e.g. Encrypt, or "POST /api/v1/keys")')
      .option('--limit <n>', 'page size (max 1000)', '50')
      .option('--cursor <cursor>', 'continue after the previous page'),
  ).action(async (options: SearchFlags, command: Command) => {
    const page = await callAdmin<EventPage>(adminConnection(command), 'GET', `/audit/events${searchQuery(options)}`);
    if (jsonOutput(command)) return printJson(page);
    const rows = page.events.map((e) => ({ ...e, time: new Date(e.time).toISOString(), chain: e.chain.slice(0, 8) }));
    printTable(
      rows,
      ['time', 'chain', 'seq', 'action', 'keystore', 'keyId', 'outcome', 'status', 'errorName', 'kmsRequestId', 'actorName'],
      false,
    );
    if (page.nextCursor) console.log(`more: --cursor ${page.nextCursor}`);
  });

  filterOptions(audit.command('export').description('write matching audit events to stdout as JSON lines (all pages)')).action(
    async (options: SearchFlags, command: Command) => {
      const conn = adminConnection(command);
      let cursor: string | undefined;
      do {
        const page: EventPage = await callAdmin<EventPage>(
          conn,
          'GET',
          `/audit/events${searchQuery({ ...options, limit: '1000', cursor })}`,
        );
        if (page.events.length > 0) process.stdout.write(page.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    },
  );

  audit
    .command('status')
    .description('audit mode, committed sequence, queue, spool, drops, last checkpoint, syslog forwarding')
    .action(async (_options: unknown, command: Command) => {
      const status = await callAdmin<AuditStatusView>(adminConnection(command), 'GET', '/audit/status');
      if (jsonOutput(command)) return printJson(status);
      const { publicKey, syslog, lastCheckpoint, ...rest } = status;
      printRecord(
        {
          ...rest,
          lastCheckpoint: lastCheckpoint ? `seq ${lastCheckpoint.seq} at ${new Date(lastCheckpoint.time).toISOString()}` : 'none yet',
          syslog: syslog
            ? `${syslog.target} (${syslog.connected ? 'connected' : 'disconnected'}, forwarded to seq ${syslog.forwardedSeq})`
            : 'off',
          publicKey: publicKey.replace(/-----[A-Z ]+-----|\n/g, ''),
        },
        false,
      );
    });
}

interface CheckpointFile {
  chain: string;
  seq: number;
  hash: string;
  time: number;
  signature: string;
  publicKey?: string;
}

function parseCheckpointFile(value: unknown, file: string): CheckpointFile {
  const notACheckpoint = () =>
    new CliError(`${file} is not a checkpoint (expected chain, seq, hash, time, signature from \`keyhold audit checkpoint\`)`);
  if (!isJsonObject(value)) throw notACheckpoint();
  const { chain, seq, hash, time, signature, publicKey } = value;
  if (
    typeof chain !== 'string' ||
    typeof seq !== 'number' ||
    !Number.isInteger(seq) ||
    typeof hash !== 'string' ||
    typeof time !== 'number' ||
    !Number.isInteger(time) ||
    typeof signature !== 'string' ||
    (publicKey !== undefined && typeof publicKey !== 'string')
  ) {
    throw notACheckpoint();
  }
  return { chain, seq, hash, time, signature, ...(publicKey === undefined ? {} : { publicKey }) };
}
