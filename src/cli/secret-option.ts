/**
 * Secrets never on a command line: a command line shows in `ps`, in /proc/PID/cmdline and in shell
 * history. Every option that carries a secret (a SigV4 secret, an admin token, a database password) is
 * read from `--<name>-file FILE`, `--<name>-stdin` or an environment variable; the plain `--<name> VALUE`
 * is still parsed, only to be refused with a one-line hint naming the three ways that work.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { CliError } from './cli-error.js';
import { readPassword } from './password-input.js';

/** Exit code of a usage error (as Commander's own). */
const USAGE = 2;

export interface SecretOptionSpec {
  /** The option's name without dashes: `secret` gives --secret-file and --secret-stdin, and refuses --secret. */
  name: string;
  /** The environment variable read when neither --<name>-file nor --<name>-stdin is given. */
  env: string;
  /** What the secret is, for help texts and messages: 'SigV4 secret access key'. */
  what: string;
}

/** Where a secret is read from; tests pass their own. */
export interface SecretInput {
  env: NodeJS.ProcessEnv;
  readFile: (path: string) => string;
  /** The first line of stdin (typed without echo at a terminal). */
  readStdin: (prompt: string) => Promise<string>;
}

export const processSecretInput: SecretInput = {
  env: process.env,
  readFile: (path) => readFileSync(path, 'utf8'),
  readStdin: (prompt) => readPassword(prompt),
};

/** `secret-access-key` → `secretAccessKey`: the key Commander stores an option's value under. */
const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** The one-line refusal of a secret given as a plain flag. */
export function secretOnCommandLine(spec: SecretOptionSpec): CliError {
  return new CliError(
    `--${spec.name} on the command line shows in ps and shell history; use --${spec.name}-file FILE, --${spec.name}-stdin or $${spec.env}`,
    USAGE,
  );
}

/** Adds --<name>-file and --<name>-stdin, and a hidden --<name> that readSecretOption refuses. */
export function addSecretOptions(command: Command, spec: SecretOptionSpec): Command {
  return command
    .addOption(new Option(`--${spec.name} <value>`).hideHelp())
    .option(`--${spec.name}-file <file>`, `file holding the ${spec.what} (its first line; default: $${spec.env})`)
    .option(`--${spec.name}-stdin`, `read the ${spec.what} from the first line of stdin (hidden prompt at a terminal)`);
}

/**
 * The secret the options (parsed by Commander, as added by addSecretOptions) point to: the file, stdin, else
 * the environment variable, else undefined. Refuses the plain flag, and both a file and stdin at once.
 */
export async function readSecretOption(
  parsed: object,
  spec: SecretOptionSpec,
  input: SecretInput = processSecretInput,
): Promise<string | undefined> {
  const options = parsed as Record<string, unknown>;
  const key = camel(spec.name);
  if (options[key] !== undefined) throw secretOnCommandLine(spec);
  const file = options[`${key}File`];
  const stdin = options[`${key}Stdin`] === true;
  if (typeof file === 'string' && stdin) throw new CliError(`give one of --${spec.name}-file and --${spec.name}-stdin, not both`, USAGE);
  if (typeof file === 'string')
    return nonEmpty(firstLine(readSecretFile(file, spec, input)), `${file} is empty (it should hold the ${spec.what})`);
  if (stdin) return nonEmpty(await input.readStdin(`${spec.what}: `), `no ${spec.what} on stdin`);
  const fromEnv = input.env[spec.env];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

function readSecretFile(path: string, spec: SecretOptionSpec, input: SecretInput): string {
  try {
    return input.readFile(path);
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    // The path is the operator's own; the file's content never appears in a message.
    throw new CliError(`cannot read the ${spec.what} from ${path} (${code})`);
  }
}

/** A secret file's first line, without its line ending (files written by `echo` end with one). */
const firstLine = (text: string) => text.split(/\r?\n/)[0] ?? '';

function nonEmpty(value: string, why: string): string {
  if (value === '') throw new CliError(why);
  return value;
}

/**
 * A database URL given as a plain flag must not carry a password (`postgres://user:PASSWORD@host/db`):
 * the password goes in $KEYHOLD_DATABASE_URL, $PGPASSWORD or ~/.pgpass instead.
 */
export function refusePasswordInUrl(flag: string, url: string | undefined): void {
  // Not a URL at all: the database layer says why.
  if (url === undefined) return;
  if (URL.canParse(url) && new URL(url).password !== '')
    throw new CliError(
      `${flag} carries a password, which shows in ps and shell history; put the URL in $KEYHOLD_DATABASE_URL, or the password in $PGPASSWORD or ~/.pgpass`,
      USAGE,
    );
}

/** The database URL of `--database-url` (refused when it carries a password), else $KEYHOLD_DATABASE_URL. */
export function databaseUrlOption(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  refusePasswordInUrl('--database-url', flag);
  return flag ?? env.KEYHOLD_DATABASE_URL;
}
