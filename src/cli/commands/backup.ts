import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Option, type Command } from 'commander';
import { dataDirPaths, resolveDataDir } from '../../core/data-dir.js';
import { CliError, errorMessage } from '../cli-error.js';
import { adminConnection, globalFlags, jsonOutput } from '../global-flags.js';
import { printJson } from '../output.js';
import { readPassword } from '../password-input.js';
import type { BackupManifest } from '../../backup/format.js';
import { DEFAULT_BACKUP_CPU_SHARE } from '../../backup/pacer.js';

/**
 * The passphrase of a backup: the first line of --passphrase-file, else typed at a hidden prompt on a
 * terminal (twice when creating). Never a flag's value: command lines end up in shell history and `ps`.
 */
async function readPassphrase(file: string | undefined, confirm: boolean): Promise<Buffer> {
  if (file !== undefined) {
    if (!existsSync(file)) throw new CliError(`no passphrase file at ${file}`);
    const text = readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '';
    if (text === '') throw new CliError(`the passphrase file ${file} is empty`);
    return Buffer.from(text, 'utf8');
  }
  if (!process.stdin.isTTY) throw new CliError('give the backup passphrase with --passphrase-file FILE (or run on a terminal to type it)');
  const typed = await readPassword('Backup passphrase: ');
  if (confirm && (await readPassword('Repeat the passphrase: ')) !== typed) throw new CliError('the passphrases differ');
  return Buffer.from(typed, 'utf8');
}

/** Turns a BackupError (one line, nothing written) into the CLI's one-line failure. */
async function oneLine<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error && error.name === 'BackupError') throw new CliError(error.message);
    throw error;
  }
}

function describe(manifest: BackupManifest): string {
  const counts = Object.entries(manifest.counts)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  return [
    `format ${manifest.format}, Keyhold ${manifest.keyholdVersion}, schema ${manifest.schema}`,
    `node ${manifest.node}, taken ${manifest.createdAt} from ${manifest.dialect}`,
    `root of trust: ${manifest.root}; audit: ${manifest.withAudit ? 'full log' : 'chains from their latest signed checkpoint'}`,
    `rows: ${counts || 'none'}`,
  ].join('\n');
}

interface DatabaseFlags {
  databaseUrl?: string;
  passphraseFile?: string;
}

/** `--cpu-share`: a fraction of one core, above 0 and at most 1. */
export function parseCpuShare(value: string): number {
  const share = Number(value);
  if (!(value.trim() !== '' && share > 0 && share <= 1))
    throw new CliError(`--cpu-share must be a number above 0 and at most 1 (a share of one core), not "${value}"`);
  return share;
}

export function registerBackupCommands(program: Command): void {
  const backup = program.command('backup').description('encrypted backups of a node: create, verify, restore (docs/backup.md)');

  backup
    .command('create')
    .description('take an online, consistent snapshot of the node into an encrypted file (the node may keep serving)')
    .requiredOption('--out <file>', 'the backup file to write (refused if it exists)')
    .option('--passphrase-file <file>', 'the passphrase, first line of this file (default: a hidden prompt on a terminal)')
    .option('--with-audit', 'include the whole audit log (default: each chain from its latest signed checkpoint on)')
    .option('--database-url <url>', "PostgreSQL URL (default: $KEYHOLD_DATABASE_URL, else the data directory's SQLite)")
    .option(
      '--cpu-share <fraction>',
      `the share of one core the backup may use on average, above 0 and at most 1, so the node serving beside it keeps its latency (default ${DEFAULT_BACKUP_CPU_SHARE}; 1: as fast as it goes)`,
    )
    .option(
      '--api',
      "ask the serving node through its admin API (found as other commands find it: --url, $KEYHOLD_ADMIN_URL, or the data directory's node.json); the path approval policies gate",
    )
    // serve --backup-dir's own children (serve-backups.ts): exempt from the refusal under an approval policy.
    .addOption(new Option('--scheduled').hideHelp())
    .action(
      async (
        options: DatabaseFlags & { out: string; withAudit?: boolean; api?: boolean; scheduled?: boolean; cpuShare?: string },
        command: Command,
      ) => {
        if (existsSync(options.out)) throw new CliError(`${options.out} already exists; choose a new file name`);
        const viaApi = Boolean(options.api) || globalFlags(command).url !== undefined;
        if (viaApi && options.databaseUrl !== undefined)
          throw new CliError('--database-url reads the database directly; leave it out with --api or --url (the node knows its database)');
        if (viaApi && options.cpuShare !== undefined)
          throw new CliError('--cpu-share paces a backup this command takes itself; with --api the node paces its own');
        const cpuShare = options.cpuShare === undefined ? undefined : parseCpuShare(options.cpuShare);
        const passphrase = await readPassphrase(options.passphraseFile, true);
        const started = Date.now();
        const withAudit = Boolean(options.withAudit);
        const { manifest } = await oneLine(async () => {
          if (viaApi) return backupThroughApi(command, options.out, withAudit, passphrase);
          // The snapshot, its gzip and its encryption are paced to --cpu-share of a core (pacer.ts), and the
          // process runs at the lowest CPU priority (main.ts), so they take what the node serving beside it
          // leaves (bench/backup-under-load.ts measures both).
          const { createBackupFile } = await import('../../backup/node-backup.js');
          return createBackupFile({
            paths: dataDirPaths(resolveDataDir(globalFlags(command).dataDir)),
            databaseUrl: options.databaseUrl ?? process.env.KEYHOLD_DATABASE_URL,
            out: options.out,
            withAudit,
            passphrase,
            scheduled: Boolean(options.scheduled),
            cpuShare,
          });
        });
        passphrase.fill(0);
        const seconds = (Date.now() - started) / 1000;
        if (jsonOutput(command)) printJson({ file: options.out, manifest, seconds, via: viaApi ? 'api' : 'database' });
        else
          console.log(
            `backup written to ${options.out} in ${seconds.toFixed(1)} s${viaApi ? ' (by the node)' : ''}\n${describe(manifest)}`,
          );
      },
    );

  backup
    .command('verify')
    .description("check a backup file's integrity and print its manifest (with the passphrase: decrypt and check every table too)")
    .argument('<file>', 'the backup file')
    .option('--passphrase-file <file>', 'also decrypt the content with the passphrase in this file')
    .action(async (file: string, options: { passphraseFile?: string }, command: Command) => {
      if (!existsSync(file)) throw new CliError(`no backup file at ${file}`);
      const bytes = readFileSync(file);
      const service = await import('../../backup/service.js');
      const manifest = await oneLine(async () => {
        if (options.passphraseFile === undefined) return service.readManifest(bytes);
        const passphrase = await readPassphrase(options.passphraseFile, false);
        return (await service.readBackup(bytes, passphrase)).manifest;
      });
      const decrypted = options.passphraseFile !== undefined;
      if (jsonOutput(command)) printJson({ file, ok: true, decrypted, manifest });
      else
        console.log(
          `${basename(file)}: intact (${decrypted ? 'decrypted and every table checked' : 'content hash checked; give --passphrase-file to decrypt'})\n${describe(manifest)}`,
        );
    });

  backup
    .command('restore')
    .description(
      "restore a backup into a data directory (SQLite) or an empty PostgreSQL database; the data directory's root of trust must already be in place",
    )
    .argument('<file>', 'the backup file')
    .option('--passphrase-file <file>', 'the passphrase, first line of this file (default: a hidden prompt on a terminal)')
    .option(
      '--database-url <url>',
      'restore into this PostgreSQL database (default: $KEYHOLD_DATABASE_URL, else SQLite in the data directory)',
    )
    .option('--shares-file <file>', "a Shamir data directory: its custodians' shares, one a line (enough to unseal)")
    .option('--force', 'replace everything in a target that is not empty')
    .action(async (file: string, options: DatabaseFlags & { force?: boolean; sharesFile?: string }, command: Command) => {
      if (!existsSync(file)) throw new CliError(`no backup file at ${file}`);
      const dataDir = globalFlags(command).dataDir;
      if (dataDir === undefined && process.env.KEYHOLD_DATA_DIR === undefined) {
        throw new CliError('give the target with --data-dir DIR (its master.key or root.json must be in place)');
      }
      const paths = dataDirPaths(resolveDataDir(dataDir));
      if (!existsSync(paths.root))
        throw new CliError(`no directory ${paths.root}: create it and place the root of trust (master.key) in it`);
      const bytes = readFileSync(file);
      if (options.sharesFile !== undefined && !existsSync(options.sharesFile))
        throw new CliError(`no shares file at ${options.sharesFile}`);
      const shares =
        options.sharesFile === undefined
          ? undefined
          : readFileSync(options.sharesFile, 'utf8')
              .split(/\r?\n/)
              .map((line) => line.trim())
              .filter(Boolean);
      const passphrase = await readPassphrase(options.passphraseFile, false);
      const [{ restoreBackup }, { systemClock }] = await Promise.all([
        import('../../backup/restore-node.js'),
        import('../../core/clock.js'),
      ]);
      const started = Date.now();
      const result = await oneLine(() =>
        restoreBackup({
          bytes,
          passphrase,
          paths,
          databaseUrl: options.databaseUrl ?? process.env.KEYHOLD_DATABASE_URL,
          force: Boolean(options.force),
          shares,
          clock: systemClock,
        }),
      );
      passphrase.fill(0);
      await completeDataDir(paths);
      const seconds = (Date.now() - started) / 1000;
      if (jsonOutput(command)) printJson({ ...result, seconds });
      else
        console.log(
          `restored ${result.rows} rows (${result.keyVersionsChecked} key versions opened by the root of trust) into ${paths.root} in ${seconds.toFixed(1)} s\n${describe(result.manifest)}`,
        );
    });
}

/**
 * `backup create --api`: POST /backups on the serving node (approval operation backup.create; with
 * --approval ID, claims the approved request), then checks the answer's integrity and writes it (0600).
 * The passphrase goes in the request body over TLS, never in a URL or on a command line.
 */
async function backupThroughApi(
  command: Command,
  out: string,
  withAudit: boolean,
  passphrase: Buffer,
): Promise<{ manifest: BackupManifest }> {
  const [{ callAdminForFile }, { readManifest }, { writeBackupBytes }] = await Promise.all([
    import('../admin-client.js'),
    import('../../backup/service.js'),
    import('../../backup/node-backup.js'),
  ]);
  const bytes = await callAdminForFile(
    adminConnection(command),
    'POST',
    '/backups',
    { passphrase: passphrase.toString('utf8'), withAudit },
    10 * 60_000,
  );
  const manifest = readManifest(bytes);
  await writeBackupBytes(out, bytes);
  return { manifest };
}

/** Gives a restored data directory what `serve` needs and a backup does not carry: a TLS certificate. */
async function completeDataDir(paths: ReturnType<typeof dataDirPaths>): Promise<void> {
  if (existsSync(paths.tlsCert) && existsSync(paths.tlsKey)) return;
  const { createSelfSignedCertificate } = await import('../../server/self-signed-cert.js');
  try {
    const pem = await createSelfSignedCertificate({ hostnames: ['localhost', '127.0.0.1', '::1'], now: new Date() });
    mkdirSync(dirname(paths.tlsCert), { recursive: true, mode: 0o700 });
    writeFileSync(`${paths.tlsKey}.tmp`, pem.keyPem, { mode: 0o600 });
    renameSync(`${paths.tlsKey}.tmp`, paths.tlsKey);
    writeFileSync(paths.tlsCert, pem.certPem, { mode: 0o600 });
  } catch (error) {
    rmSync(`${paths.tlsKey}.tmp`, { force: true });
    throw new CliError(`restored, but could not create a TLS certificate: ${errorMessage(error)}`);
  }
}
