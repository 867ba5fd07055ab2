import { Command, CommanderError } from 'commander';
import { ManagementError } from '../core/errors.js';
import { KEYHOLD_VERSION } from '../core/version.js';
import { CliError } from './admin-client.js';
import { registerAccessCommands } from './commands/access.js';
import { registerApprovalCommands } from './commands/approvals.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerHsmCommands } from './commands/hsm.js';
import { registerKeyCommands } from './commands/key.js';
import { registerKeystoreCommands } from './commands/keystore.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerKillSwitchCommands } from './commands/kill-switch.js';
import { registerInitCommand } from './commands/init.js';
import { registerServeCommand } from './commands/serve.js';
import { registerUnsealCommand } from './commands/unseal.js';

export function buildProgram(): Command {
  const program = new Command('keyhold')
    .version(KEYHOLD_VERSION)
    .description('Keyhold: external key manager with an AWS KMS XKS proxy')
    .option('--data-dir <dir>', 'data directory (default: $KEYHOLD_DATA_DIR or ./data)')
    .option('--url <url>', 'admin API base URL (default: from the data directory)')
    .option('--token <token>', 'admin token (default: $KEYHOLD_ADMIN_TOKEN or the data directory)')
    .option('--admin-ca <file>', "CA certificate of the admin API (default: the data directory's tls/cert.pem)")
    .option('--approval <id>', 'claim an approved request: repeat the gated command with its approval id')
    .option('--json', 'print JSON')
    .exitOverride();
  registerInitCommand(program);
  registerServeCommand(program);
  registerKeystoreCommands(program);
  registerKeyCommands(program);
  registerPolicyCommands(program);
  registerKillSwitchCommands(program);
  registerAuditCommands(program);
  registerDoctorCommand(program);
  registerUnsealCommand(program);
  registerAccessCommands(program);
  registerApprovalCommands(program);
  registerHsmCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // Everything Keyhold writes (database, WAL, keys, tokens) is for its owner only.
  process.umask(0o077);
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof CliError || error instanceof ManagementError) {
      console.error(`keyhold: ${error.message}`);
      process.exitCode = error instanceof CliError ? error.exitCode : 1;
      return;
    }
    console.error(`keyhold: ${(error as Error)?.message ?? String(error)}`);
    process.exitCode = 1;
  }
}

await main(process.argv);
