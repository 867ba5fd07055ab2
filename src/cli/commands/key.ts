import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseTagPairs } from '../../keys/attributes.js';
import { MAX_KEY_PAGE, parseUsage, type KeyPage, type KeyVersionView, type KeyView } from '../../keys/service.js';
import type { WrappingKeyView } from '../../keys/import-wrapping.js';
import { callAdmin, pathSegment } from '../admin-client.js';
import { CliError, errorMessage } from '../cli-error.js';
import { printJson, printNote, printRecord, printTable } from '../output.js';
import { adminConnection, jsonOutput } from '../global-flags.js';

/** The options of the one-call key commands (`key enable`, `key tag`, …); each uses its own. */
interface SimpleOptions {
  keystore?: string;
  reason?: string;
  days?: string;
  remove?: string[];
}

/** A key as printed: tags as `name=value` pairs. */
const printable = (view: KeyView) => ({
  ...view,
  tags:
    Object.keys(view.tags).length === 0
      ? 'none'
      : Object.entries(view.tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(', '),
});

interface KeyListOptions {
  keystore?: string;
  search?: string;
  status?: string;
  limit?: string;
  cursor?: string;
}

/** Argument parsing failures are usage errors: exit 2, one line, nothing sent. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new CliError(errorMessage(error), 2);
  }
}

function positiveInteger(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim())) throw new CliError(`${what} must be a whole number (got "${text}")`, 2);
  return Number(text);
}

export function registerKeyCommands(program: Command): void {
  const key = program.command('key').description('manage root keys: lifecycle, versions, rotation, import (see docs/rotation.md)');
  const keystoreQuery = (keystore?: string) => (keystore ? `?keystore=${encodeURIComponent(keystore)}` : '');
  // Text shows tags as name=value pairs; --json keeps the API's object.
  const printKey = (view: KeyView, command: Command) =>
    jsonOutput(command) ? printRecord({ ...view }, true) : printRecord(printable(view), false);
  const keyPath = (id: string, suffix: string, keystore?: string) => `/keys/${pathSegment(id)}${suffix}${keystoreQuery(keystore)}`;

  key
    .command('create <id>')
    .description(
      'generate a new AES-256 key in the root of trust (wrapped under the master key, or generated inside the HSM in PKCS#11 keys mode)',
    )
    .requiredOption('--keystore <name>', 'keystore whose group holds the key')
    .option('--usage <usage>', 'ENCRYPT,DECRYPT | ENCRYPT | DECRYPT | none', 'ENCRYPT,DECRYPT')
    .option('--description <text>', 'what the key is for')
    .option('--tag <name=value...>', 'tags (repeatable)')
    .action(async (id: string, options: { keystore: string; usage: string; description?: string; tag?: string[] }, command: Command) => {
      const usageList = usage(() => parseUsage(options.usage));
      const { tag } = options;
      const tags = tag ? usage(() => parseTagPairs(tag)) : undefined;
      const view = await callAdmin<KeyView>(adminConnection(command), 'POST', '/keys', {
        id,
        keystore: options.keystore,
        usage: usageList,
        description: options.description,
        tags,
      });
      printKey(view, command);
    });

  key
    .command('list')
    .description('list keys: every key, or with --limit one page (the next page with --cursor)')
    .option('--keystore <name>', 'only keys reachable through this keystore')
    .option('--search <text>', 'only keys whose id, description or a tag value contains this (any case)')
    .option('--status <status>', 'only keys in this status (ENABLED, DISABLED, BLOCKED, PENDING_DELETION, DESTROYED)')
    .option('--limit <n>', `one page of at most n keys (1-${MAX_KEY_PAGE})`)
    .option('--cursor <cursor>', 'the page after the one that printed this cursor')
    .action(async (options: KeyListOptions, command: Command) => {
      const conn = adminConnection(command);
      const limit = options.limit === undefined ? undefined : positiveInteger(options.limit, '--limit');
      const onePage = limit !== undefined || options.cursor !== undefined;
      const rows: KeyView[] = [];
      let cursor = options.cursor;
      for (;;) {
        const query = new URLSearchParams();
        for (const [name, value] of Object.entries({ keystore: options.keystore, search: options.search, status: options.status })) {
          if (value !== undefined) query.set(name, value);
        }
        query.set('limit', String(limit ?? MAX_KEY_PAGE));
        if (cursor !== undefined) query.set('cursor', cursor);
        const page = await callAdmin<KeyPage>(conn, 'GET', `/keys?${query.toString()}`);
        rows.push(...page.keys);
        cursor = page.nextCursor ?? undefined;
        if (onePage || cursor === undefined) break;
      }
      printTable(rows, ['id', 'keystore', 'usage', 'status', 'currentVersion', 'createdAt'], jsonOutput(command));
      if (onePage && cursor !== undefined) printNote(`more keys follow: add --cursor ${cursor}`);
    });

  /**
   * `key <name> <id> [args]`: one admin call on one key, printing the key it returns. `bodyOf` gets the
   * arguments after the id and the command's options.
   */
  const simple = (
    name: string,
    description: string,
    method: string,
    suffix: string,
    extra: (command: Command) => Command = (c) => c,
    bodyOf: (rest: string[], options: SimpleOptions) => unknown = () => undefined,
  ) =>
    extra(key.command(name).description(description))
      .option('--keystore <name>', 'disambiguate when the id exists in several groups')
      // Commander calls the action with the command as `this`; its args are the operands (variadic ones flattened).
      .action(async function (this: Command) {
        const options = this.opts<SimpleOptions>();
        const [id, ...rest] = this.args;
        if (id === undefined) throw new CliError('give the key id', 2);
        const payload = bodyOf(rest, options);
        const view = await callAdmin<KeyView>(adminConnection(this), method, keyPath(id, suffix, options.keystore), payload);
        printKey(view, this);
      });

  simple('show <id>', 'show one key', 'GET', '');
  simple('enable <id>', 'enable a key (effective on the next request)', 'POST', '/enable');
  simple('disable <id>', 'disable a key (effective on the next request)', 'POST', '/disable');
  simple(
    'block <id>',
    'kill switch for one key: every XKS crypto operation answers InvalidStateException until unblocked',
    'POST',
    '/block',
    (c) => c.requiredOption('--reason <text>', 'why (shown to operators, logged)'),
    (_rest, options) => ({ reason: options.reason }),
  );
  simple('unblock <id>', "lift a key's kill switch (the key is ENABLED again)", 'POST', '/unblock');
  simple(
    'schedule-deletion <id>',
    'destroy the key after a waiting period (it does no crypto meanwhile; cancellable)',
    'POST',
    '/schedule-deletion',
    (c) => c.requiredOption('--days <n>', 'waiting period, 7 to 30 days'),
    (_rest, options) => ({ days: positiveInteger(options.days ?? '', '--days') }),
  );
  simple('cancel-deletion <id>', 'cancel a scheduled deletion (the key comes back DISABLED)', 'POST', '/cancel-deletion');
  simple('rotate <id>', 'create a new key version and make it current (older versions still decrypt)', 'POST', '/rotate');
  simple(
    'set-rotation <id>',
    'rotate automatically every N days, or off',
    'PUT',
    '/rotation-policy',
    (c) => c.requiredOption('--days <n|off>', 'rotation period in days, or off'),
    (_rest, options) => {
      const days = options.days ?? '';
      return { days: days.toLowerCase() === 'off' ? null : positiveInteger(days, '--days') };
    },
  );
  simple(
    'set-min-decrypt-version <id> <version>',
    'refuse ciphertexts made under versions older than VERSION',
    'PUT',
    '/min-decrypt-version',
    undefined,
    ([version = '']) => ({ version: positiveInteger(version, 'version') }),
  );
  simple(
    'tag <id> [pairs...]',
    'set tags (name=value) and/or remove tags (--remove name)',
    'PATCH',
    '/tags',
    (c) => c.option('--remove <name...>', 'tag names to remove'),
    (pairs, options) => {
      const set = usage(() => parseTagPairs(pairs));
      const remove = options.remove ?? [];
      if (Object.keys(set).length === 0 && remove.length === 0) throw new CliError('give tags as name=value, or --remove name', 2);
      return { set, remove };
    },
  );
  simple('describe <id> <description>', "set the key's description", 'PUT', '/description', undefined, ([description]) => ({
    description,
  }));

  key
    .command('versions <id>')
    .description("list a key's versions: state, origin, whether they still decrypt")
    .option('--keystore <name>', 'disambiguate when the id exists in several groups')
    .action(async (id: string, options: { keystore?: string }, command: Command) => {
      const rows = await callAdmin<KeyVersionView[]>(adminConnection(command), 'GET', keyPath(id, '/versions', options.keystore));
      printTable(rows, ['version', 'state', 'origin', 'current', 'decrypts', 'createdAt'], jsonOutput(command));
    });

  for (const [name, verb, description] of [
    ['revoke-version', 'revoke', 'stop one old version from decrypting (not the current one)'],
    ['destroy-version', 'destroy', 'erase one revoked (or below-minimum) version for good: its ciphertexts are lost; needs --yes'],
  ] as const) {
    const command = key
      .command(`${name} <id> <version>`)
      .description(description)
      .option('--keystore <name>', 'disambiguate when the id exists in several groups');
    if (verb === 'destroy') command.option('--yes', 'confirm that ciphertexts of this version can never be decrypted again');
    command.action(async (id: string, versionText: string, options: { keystore?: string; yes?: boolean }, cmd: Command) => {
      const version = positiveInteger(versionText, 'version');
      if (verb === 'destroy' && !options.yes)
        throw new CliError(`destroying version ${version} of "${id}" cannot be undone; add --yes to confirm`, 2);
      const view = await callAdmin<KeyVersionView>(
        adminConnection(cmd),
        'POST',
        keyPath(id, `/versions/${version}/${verb}`, options.keystore),
      );
      printRecord({ key: id, ...view }, jsonOutput(cmd));
    });
  }

  key
    .command('import-wrapping-key')
    .description('get an RSA-3072 public key to wrap key material with (RSA-OAEP-SHA256); valid 24 h, for one import')
    .option('--out <file>', 'write the public key PEM here (default: print it)')
    .action(async (options: { out?: string }, command: Command) => {
      const wrapping = await callAdmin<WrappingKeyView>(adminConnection(command), 'POST', '/keys/import-wrapping-keys');
      if (options.out) writeFileSync(options.out, wrapping.publicKeyPem, { mode: 0o644 });
      if (jsonOutput(command)) return printJson(wrapping);
      printRecord(
        {
          wrappingKeyId: wrapping.wrappingKeyId,
          algorithm: wrapping.algorithm,
          expiresAt: wrapping.expiresAt,
          publicKey: options.out ?? '(below)',
        },
        false,
      );
      if (!options.out) process.stdout.write(wrapping.publicKeyPem);
    });

  key
    .command('import <id>')
    .description(
      'bring your own key: upload a wrapped 256-bit AES key as a new key (with --keystore) or as the next version of an existing key',
    )
    .requiredOption('--wrapping-key-id <id>', 'from `keyhold key import-wrapping-key`')
    .requiredOption('--wrapped-key-file <file>', 'the RSA-OAEP-SHA256 ciphertext (raw bytes, as openssl pkeyutl writes it)')
    .option('--keystore <name>', 'keystore whose group holds (or will hold) the key')
    .option('--usage <usage>', 'for a new key: ENCRYPT,DECRYPT | ENCRYPT | DECRYPT | none')
    .option('--description <text>', 'for a new key: what it is for')
    .option('--tag <name=value...>', 'for a new key: tags')
    .action(
      async (
        id: string,
        options: { wrappingKeyId: string; wrappedKeyFile: string; keystore?: string; usage?: string; description?: string; tag?: string[] },
        command: Command,
      ) => {
        if (!existsSync(options.wrappedKeyFile)) throw new CliError(`no file ${options.wrappedKeyFile}`, 2);
        const wrappedKey = readFileSync(options.wrappedKeyFile).toString('base64');
        const { usage: usageText, tag } = options;
        const usageList = usageText === undefined ? undefined : usage(() => parseUsage(usageText));
        const tags = tag ? usage(() => parseTagPairs(tag)) : undefined;
        const conn = adminConnection(command);
        const exists = await callAdmin<KeyView>(conn, 'GET', keyPath(id, '', options.keystore)).then(
          () => true,
          (error: unknown) => {
            if (error instanceof CliError && /^no key /.test(error.message) && options.keystore !== undefined) return false;
            throw error;
          },
        );
        const view = exists
          ? await callAdmin<KeyView>(conn, 'POST', keyPath(id, '/import', options.keystore), {
              wrappingKeyId: options.wrappingKeyId,
              wrappedKey,
            })
          : await callAdmin<KeyView>(conn, 'POST', '/keys/import', {
              id,
              keystore: options.keystore,
              wrappingKeyId: options.wrappingKeyId,
              wrappedKey,
              usage: usageList,
              description: options.description,
              tags,
            });
        printKey(view, command);
      },
    );
}
