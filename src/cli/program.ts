/**
 * The `keyhold` command tree: global flags and every command, without running anything (main.ts
 * parses the arguments; tests read the tree to check that every command is covered).
 */
import { Command } from 'commander';
import { KEYHOLD_VERSION } from '../core/version.js';
import { registerAccessCommands } from './commands/access.js';
import { registerApprovalCommands } from './commands/approvals.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerHsmCommands } from './commands/hsm.js';
import { registerKeyCommands } from './commands/key.js';
import { registerKeystoreCommands } from './commands/keystore.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerFleetCommands } from './commands/fleet.js';
import { registerKillSwitchCommands } from './commands/kill-switch.js';
import { registerInitCommand } from './commands/init.js';
import { registerServeCommand } from './commands/serve.js';
import { registerUnsealCommand } from './commands/unseal.js';
import { addSecretOptions, readSecretOption, type SecretOptionSpec } from './secret-option.js';

/** The admin token: --token-file, --token-stdin or $KEYHOLD_ADMIN_TOKEN (else a saved login or the data directory). */
export const ADMIN_TOKEN: SecretOptionSpec = { name: 'token', env: 'KEYHOLD_ADMIN_TOKEN', what: 'admin token' };

/**
 * Commander's own usage errors (unknown option or command, missing argument, bad option value) as the one
 * `keyhold: …` line every other failure prints: `error: unknown option '--jsn'\n(Did you mean --json?)\n`
 * becomes `keyhold: unknown option '--jsn' (Did you mean --json?)\n`.
 */
export function usageErrorLine(commanderText: string): string {
  const text = commanderText
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
  return `keyhold: ${text}\n`;
}

export function buildProgram(): Command {
  // Subcommands inherit the output configuration and exitOverride of their parent when they are created,
  // so both are set before any command is registered.
  const program = new Command('keyhold')
    .version(KEYHOLD_VERSION)
    .description('Keyhold: external key manager with an AWS KMS XKS proxy')
    .option('--data-dir <dir>', 'data directory (default: $KEYHOLD_DATA_DIR or ./data)')
    .option('--url <url>', 'admin API base URL (default: from the data directory)')
    .option('--admin-ca <file>', "CA certificate of the admin API (default: the data directory's tls/cert.pem)")
    .option('--approval <id>', 'claim an approved request: repeat the gated command with its approval id')
    .option('--json', 'print the result as one JSON document of plain values, notes on stderr (all but serve; audit export: JSON lines)')
    .configureOutput({ outputError: (text, write) => write(usageErrorLine(text)) })
    .exitOverride();
  addSecretOptions(program, ADMIN_TOKEN);
  // The admin token is read once, before any command runs, into the `token` value every command's
  // connection uses (global-flags.ts); a token typed as --token is refused (secret-option.ts).
  program.hook('preAction', async () => {
    program.setOptionValue('token', await readSecretOption(program.opts(), ADMIN_TOKEN));
  });
  registerInitCommand(program);
  registerServeCommand(program);
  registerKeystoreCommands(program);
  registerKeyCommands(program);
  registerPolicyCommands(program);
  registerKillSwitchCommands(program);
  registerFleetCommands(program);
  registerAuditCommands(program);
  registerDoctorCommand(program);
  registerUnsealCommand(program);
  registerAccessCommands(program);
  registerApprovalCommands(program);
  registerHsmCommands(program);
  registerBackupCommands(program);
  registerMigrateCommand(program);
  return program;
}
