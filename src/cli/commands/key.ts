import type { Command } from 'commander';
import { parseUsage, type KeyView } from '../../keys/service.js';
import { CliError, callAdmin, pathSegment, resolveConnection, type ConnectionFlags } from '../admin-client.js';
import { printRecord, printTable } from '../output.js';

type GlobalFlags = ConnectionFlags & { json?: boolean };

export function registerKeyCommands(program: Command): void {
  const key = program.command('key').description('manage root keys');
  const flags = (command: Command) => command.optsWithGlobals<GlobalFlags>();
  const connection = (command: Command) => resolveConnection(flags(command));
  const keystoreQuery = (keystore?: string) => (keystore ? `?keystore=${encodeURIComponent(keystore)}` : '');

  key
    .command('create <id>')
    .description('generate a new AES-256 key (material from a CSPRNG, stored wrapped under the root of trust)')
    .requiredOption('--keystore <name>', 'keystore whose group holds the key')
    .option('--usage <usage>', 'ENCRYPT,DECRYPT | ENCRYPT | DECRYPT | none', 'ENCRYPT,DECRYPT')
    .action(async (id: string, options: { keystore: string; usage: string }, command: Command) => {
      let usage;
      try {
        usage = parseUsage(options.usage);
      } catch (error) {
        throw new CliError((error as Error).message, 2);
      }
      const view = await callAdmin<KeyView>(connection(command), 'POST', '/keys', { id, keystore: options.keystore, usage });
      printRecord({ ...view }, Boolean(flags(command).json));
    });

  key
    .command('list')
    .description('list keys')
    .option('--keystore <name>', 'only keys reachable through this keystore')
    .action(async (options: { keystore?: string }, command: Command) => {
      const rows = await callAdmin<KeyView[]>(connection(command), 'GET', `/keys${keystoreQuery(options.keystore)}`);
      printTable(rows as unknown as Record<string, unknown>[], ['id', 'keystore', 'usage', 'status', 'currentVersion', 'createdAt'], Boolean(flags(command).json));
    });

  for (const [name, method, path] of [
    ['show', 'GET', ''],
    ['enable', 'POST', '/enable'],
    ['disable', 'POST', '/disable'],
  ] as const) {
    key
      .command(`${name} <id>`)
      .description(name === 'show' ? 'show one key' : `${name} a key (effective on the next request)`)
      .option('--keystore <name>', 'disambiguate when the id exists in several groups')
      .action(async (id: string, options: { keystore?: string }, command: Command) => {
        const view = await callAdmin<KeyView>(connection(command), method, `/keys/${pathSegment(id)}${path}${keystoreQuery(options.keystore)}`);
        printRecord({ ...view }, Boolean(flags(command).json));
      });
  }
}
