import type { Command } from 'commander';
import type { KeystoreQuota } from '../../domain/types.js';
import type { KeystoreView, KmsConsoleJson, NewCredential } from '../../keystores/keystore-service.js';
import { callAdmin, pathSegment } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { printJson, printRecord, printTable, SHOWN_ONCE } from '../output.js';
import { adminConnection, jsonOutput } from '../global-flags.js';
import { addSecretOptions, readSecretOption, type SecretOptionSpec } from '../secret-option.js';

/** A migrated SigV4 secret: from a file, stdin or $KEYHOLD_XKS_SECRET, never the command line. */
const XKS_SECRET: SecretOptionSpec = { name: 'secret', env: 'KEYHOLD_XKS_SECRET', what: 'SigV4 secret access key' };

export function registerKeystoreCommands(program: Command): void {
  const keystore = program.command('keystore').description('manage keystores (one XKS endpoint each: URI prefix, credentials)');

  const create = keystore
    .command('create <name>')
    .description('create a keystore; generates a credential unless --access-key-id and a secret (--secret-file/--secret-stdin) are given')
    .requiredOption('--prefix <path>', 'URI path prefix before /kms/xks/v1, e.g. /acme')
    .option('--region <region>', 'AWS region of the KMS custom key store', 'us-east-1')
    .option('--group <group>', 'key group to bind (default: a group named after the keystore)')
    .option('--access-key-id <id>', 'existing access key id (migration from another proxy)');
  addSecretOptions(create, { ...XKS_SECRET, what: 'existing SigV4 secret access key (migration)' }).action(
    async (name: string, options: { prefix: string; region: string; group?: string; accessKeyId?: string }, command: Command) => {
      const secret = await readSecretOption(options, XKS_SECRET);
      const { prefix, region, group, accessKeyId } = options;
      const result = await callAdmin<{ keystore: KeystoreView; credential: NewCredential }>(
        adminConnection(command),
        'POST',
        '/keystores',
        {
          name,
          prefix,
          region,
          ...(group !== undefined ? { group } : {}),
          ...(accessKeyId !== undefined ? { accessKeyId } : {}),
          ...(secret !== undefined ? { secret } : {}),
        },
      );
      const json = jsonOutput(command);
      const generated = secret === undefined;
      printRecord(
        {
          keystore: result.keystore.name,
          uriPath: result.keystore.uriPath,
          region: result.keystore.region,
          group: result.keystore.group,
          accessKeyId: result.credential.accessKeyId,
          // A migrated secret is the caller's own: never echoed (JSON leaves the field out).
          secretAccessKey: generated ? result.credential.secret : json ? undefined : '(as given)',
        },
        json,
        generated ? { secretAccessKey: SHOWN_ONCE } : {},
      );
    },
  );

  keystore
    .command('list')
    .description('list keystores')
    .action(async (_options, command: Command) => {
      const rows = await callAdmin<KeystoreView[]>(adminConnection(command), 'GET', '/keystores');
      // JSON keeps the API's values (the quota object, the credential ids); the table counts and formats.
      if (jsonOutput(command)) return printJson(rows);
      printTable(
        rows.map((k) => ({ ...k, credentials: k.credentials.length, quota: formatQuota(k.quota) })),
        ['name', 'uriPath', 'region', 'group', 'status', 'quota', 'credentials'],
        false,
      );
    });

  keystore
    .command('show <name>')
    .description('show one keystore and its credentials (never the secrets)')
    .action(async (name: string, _options, command: Command) => {
      const view = await callAdmin<KeystoreView>(adminConnection(command), 'GET', `/keystores/${pathSegment(name)}`);
      if (jsonOutput(command)) return printJson(view);
      printRecord(
        {
          ...view,
          quota: formatQuota(view.quota),
          credentials: view.credentials.map((c) => `${c.accessKeyId} (${c.createdAt})`),
        },
        false,
      );
    });

  for (const action of ['enable', 'disable'] as const) {
    keystore
      .command(`${action} <name>`)
      .description(`${action} every XKS operation of a keystore (effective on the next request)`)
      .action(async (name: string, _options, command: Command) => {
        const view = await callAdmin<KeystoreView>(adminConnection(command), 'POST', `/keystores/${pathSegment(name)}/${action}`);
        printRecord({ keystore: view.name, status: view.status }, jsonOutput(command));
      });
  }

  keystore
    .command('block <name>')
    .description('kill switch for one keystore: every XKS operation through it answers InvalidStateException until unblocked')
    .requiredOption('--reason <text>', 'why (shown to operators, logged)')
    .action(async (name: string, options: { reason: string }, command: Command) => {
      const view = await callAdmin<KeystoreView>(adminConnection(command), 'POST', `/keystores/${pathSegment(name)}/block`, {
        reason: options.reason,
      });
      printRecord({ keystore: view.name, status: view.status, blockReason: view.blockReason }, jsonOutput(command));
    });

  keystore
    .command('unblock <name>')
    .description("lift a keystore's kill switch (the keystore is ENABLED again)")
    .action(async (name: string, _options, command: Command) => {
      const view = await callAdmin<KeystoreView>(adminConnection(command), 'POST', `/keystores/${pathSegment(name)}/unblock`);
      printRecord({ keystore: view.name, status: view.status }, jsonOutput(command));
    });

  keystore
    .command('quota <name>')
    .description("set a keystore's request quota on each node (429 ThrottlingException above it), or remove it with --off")
    .option('--rps <n>', 'requests per second (may be fractional, e.g. 0.5)')
    .option('--burst <m>', "requests at once after a quiet spell (default: one second's worth)")
    .option('--off', 'remove the quota')
    .action(async (name: string, options: { rps?: string; burst?: string; off?: boolean }, command: Command) => {
      const path = `/keystores/${pathSegment(name)}/quota`;
      let view: KeystoreView;
      if (options.off) {
        if (options.rps !== undefined || options.burst !== undefined) throw new CliError('give either --rps [--burst] or --off, not both');
        view = await callAdmin<KeystoreView>(adminConnection(command), 'DELETE', path);
      } else {
        if (options.rps === undefined) throw new CliError('give --rps N [--burst M] to set a quota, or --off to remove it');
        const body = {
          rps: parseNumber('--rps', options.rps),
          ...(options.burst === undefined ? {} : { burst: parseNumber('--burst', options.burst) }),
        };
        view = await callAdmin<KeystoreView>(adminConnection(command), 'PUT', path, body);
      }
      const json = jsonOutput(command);
      printRecord({ keystore: view.name, quota: json ? (view.quota ?? null) : formatQuota(view.quota) }, json);
    });

  keystore
    .command('kms-json <name>')
    .description('print the KMS console configuration JSON (includes the secret)')
    .option('--access-key-id <id>', 'which credential (default: the newest)')
    .action(async (name: string, options: { accessKeyId?: string }, command: Command) => {
      const query = options.accessKeyId ? `?accessKeyId=${encodeURIComponent(options.accessKeyId)}` : '';
      const file = await callAdmin<KmsConsoleJson>(adminConnection(command), 'GET', `/keystores/${pathSegment(name)}/kms-json${query}`);
      printJson(file);
    });

  const credential = keystore.command('credential').description("manage a keystore's SigV4 credentials (several live at once)");
  const add = credential
    .command('add <name>')
    .description('add a credential; live at once, no restart')
    .option('--access-key-id <id>', 'existing access key id');
  addSecretOptions(add, { ...XKS_SECRET, what: 'existing SigV4 secret access key' }).action(
    async (name: string, options: { accessKeyId?: string }, command: Command) => {
      const secret = await readSecretOption(options, XKS_SECRET);
      const result = await callAdmin<NewCredential>(adminConnection(command), 'POST', `/keystores/${pathSegment(name)}/credentials`, {
        ...(options.accessKeyId !== undefined ? { accessKeyId: options.accessKeyId } : {}),
        ...(secret !== undefined ? { secret } : {}),
      });
      const json = jsonOutput(command);
      const generated = secret === undefined;
      printRecord(
        {
          keystore: name,
          accessKeyId: result.accessKeyId,
          secretAccessKey: generated ? result.secret : json ? undefined : '(as given)',
        },
        json,
        generated ? { secretAccessKey: SHOWN_ONCE } : {},
      );
    },
  );
  credential
    .command('remove <name> <accessKeyId>')
    .description('remove a credential (a keystore keeps at least one)')
    .action(async (name: string, accessKeyId: string, _options, command: Command) => {
      await callAdmin(adminConnection(command), 'DELETE', `/keystores/${pathSegment(name)}/credentials/${pathSegment(accessKeyId)}`);
      if (jsonOutput(command)) printJson({ keystore: name, removedAccessKeyId: accessKeyId });
      else console.log(`Removed credential ${accessKeyId} from keystore ${name}`);
    });
}

/** `100/s, burst 200`, or `off`. */
function formatQuota(quota: KeystoreQuota | undefined): string {
  return quota ? `${quota.rps}/s, burst ${quota.burst}` : 'off';
}

/** A number as typed; the server checks its range and says why it refuses one. */
function parseNumber(flag: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new CliError(`${flag} must be a number (got "${value}")`);
  return number;
}
