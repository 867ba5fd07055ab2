import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { systemClock } from '../../core/clock.js';
import { KEYHOLD_VERSION } from '../../core/version.js';
import { dataDirPaths, resolveDataDir } from '../../server/data-dir.js';
import { DEMO_KEY, DEMO_KEYSTORE, initDataDir, type InitResult } from '../../server/init.js';
import { startNode, type RunningNode } from '../../server/node.js';
import { CliError } from '../admin-client.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return port;
}

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/**
 * The program also declares a global --data-dir, and commander hands the flag to the program (not to
 * this subcommand) wherever it appears on the command line, so read it with the globals.
 */
function dataDirFlag(options: { dataDir?: string }, command: Command): string | undefined {
  return options.dataDir ?? command.optsWithGlobals<{ dataDir?: string }>().dataDir;
}

async function init(dataDir: string, databaseUrl: string | undefined, demo: boolean): Promise<InitResult> {
  return initDataDir({ dataDir, databaseUrl, demo, clock: systemClock });
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a data directory: master key, TLS certificate, admin token, database, demo keystore and key')
    .option('--data-dir <dir>', 'data directory (default: $KEYHOLD_DATA_DIR or ./data)')
    .option('--database-url <url>', 'PostgreSQL URL (default: $KEYHOLD_DATABASE_URL, else SQLite in the data directory)')
    .option('--no-demo', 'do not create the demo keystore and key')
    .action(async (options: { dataDir?: string; databaseUrl?: string; demo: boolean }, command: Command) => {
      const dataDir = resolveDataDir(dataDirFlag(options, command));
      const result = await init(dataDir, options.databaseUrl ?? process.env.KEYHOLD_DATABASE_URL, options.demo);
      console.log(`Created ${display(result.paths.root)}`);
      printDemo(result, undefined);
    });
}

function printDemo(result: InitResult, node: RunningNode | undefined): void {
  const paths = result.paths;
  if (!result.demo) return;
  const { keystore, credential, kmsConsoleFile } = result.demo;
  const base = node?.url ?? 'https://localhost:8443';
  console.log(`
Demo keystore "${keystore.name}"
  XKS endpoint         ${base}
  XKS URI path         ${keystore.uriPath}
  access key id        ${credential.accessKeyId}
  secret access key    ${credential.secret}   (shown only now; kept in the KMS console file below)
  KMS console file     ${display(kmsConsoleFile)}
  demo key id          ${result.demo.keyId}
  admin token file     ${display(paths.adminToken)}`);
  if (node) printCurl(node, keystore.region, keystore.uriPath, credential.accessKeyId, `'${credential.secret}'`, paths.tlsCert);
}

/** A path as one shell word: as is when plain, else single-quoted. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_.,:/@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function printCurl(node: RunningNode, region: string, uriPath: string, accessKeyId: string, secretExpression: string, certPath: string): void {
  const body = JSON.stringify({ requestMetadata: { kmsRequestId: 'keyhold-quickstart', kmsOperation: 'KmsHealthCheck' } });
  console.log(`
Try it (a signed XKS GetHealthStatus request):
  curl --cacert ${shellWord(display(certPath))} -H 'Content-Type: application/json' \\
    --aws-sigv4 "aws:amz:${region}:kms-xks-proxy" --user "${accessKeyId}:"${secretExpression} \\
    --data-binary '${body}' \\
    ${node.url}${uriPath}/health
`);
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the XKS proxy and the admin API over HTTPS (initializes the data directory on first run)')
    .option('--data-dir <dir>', 'data directory (default: $KEYHOLD_DATA_DIR or ./data)')
    .option('--host <host>', 'address to listen on', process.env.KEYHOLD_HOST ?? '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, Number(process.env.KEYHOLD_PORT ?? 8443))
    .option('--database-url <url>', 'PostgreSQL URL (default: $KEYHOLD_DATABASE_URL, else SQLite in the data directory)')
    .option('--log-level <level>', 'log level (info logs one line per XKS request)', process.env.KEYHOLD_LOG_LEVEL ?? 'info')
    .action(async (options: { dataDir?: string; host: string; port: number; databaseUrl?: string; logLevel: string }, command: Command) => {
      const dataDir = resolveDataDir(dataDirFlag(options, command));
      const databaseUrl = options.databaseUrl ?? process.env.KEYHOLD_DATABASE_URL;
      const firstRun = !existsSync(dataDir) || readdirSync(dataDir).length === 0;
      const initResult = firstRun ? await init(dataDir, databaseUrl, true) : undefined;
      const logger = pino({ level: options.logLevel, base: { service: 'keyhold' } });
      const node = await startNode({ dataDir, host: options.host, port: options.port, databaseUrl, logger, clock: systemClock }).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EADDRINUSE') throw new CliError(`port ${options.port} on ${options.host} is already in use; pass --port`);
          throw error;
        },
      );
      console.log(`Keyhold v${KEYHOLD_VERSION} serving XKS and the admin API on ${node.url} (data: ${display(dataDir)})`);
      if (initResult) printDemo(initResult, node);
      else await printExistingDemo(node, dataDir);

      const stop = (signal: string) => {
        logger.info({ signal }, 'shutting down');
        node.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

async function printExistingDemo(node: RunningNode, dataDir: string): Promise<void> {
  const paths = dataDirPaths(dataDir);
  const live = node.services.live.keystoreByName(DEMO_KEYSTORE);
  const kmsConsoleFile = `${paths.kmsConsoleDir}/${DEMO_KEYSTORE}.json`;
  if (!live || !existsSync(kmsConsoleFile)) return;
  const file = JSON.parse(readFileSync(kmsConsoleFile, 'utf8')) as { XksProxyAuthenticationCredential: { AccessKeyId: string } };
  const accessKeyId = file.XksProxyAuthenticationCredential.AccessKeyId;
  if (!live.secrets.has(accessKeyId)) return;
  console.log(`
Demo keystore "${DEMO_KEYSTORE}": URI path ${live.keystore.prefix}/kms/xks/v1, key "${DEMO_KEY}", access key id ${accessKeyId}
  (the secret was shown on the first run; it is in ${display(kmsConsoleFile)})`);
  // require() needs './' before a relative path, and nothing before an absolute one (data dir outside cwd).
  const shown = display(kmsConsoleFile);
  const requirePath = isAbsolute(shown) ? shown : `./${shown}`;
  const secretExpression = `"$(node -p "require('${requirePath}').XksProxyAuthenticationCredential.RawSecretAccessKey")"`;
  printCurl(node, live.keystore.region, `${live.keystore.prefix}/kms/xks/v1`, accessKeyId, secretExpression, paths.tlsCert);
}
