/** `keyhold`: parses the command line and turns every failure into one `keyhold: …` line and an exit code. */
import { CommanderError } from 'commander';
import { ManagementError } from '../core/errors.js';
import { CliError, errorMessage } from './cli-error.js';
import { buildProgram } from './program.js';

/** Exit code of a usage error: Commander's own (printed by the program's output configuration) and ours. */
const USAGE_EXIT_CODE = 2;

export async function main(argv: string[]): Promise<void> {
  // Everything Keyhold writes (database, WAL, keys, tokens) is for its owner only.
  process.umask(0o077);
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
      return;
    }
    if (error instanceof CliError || error instanceof ManagementError) {
      console.error(`keyhold: ${error.message}`);
      process.exitCode = error instanceof CliError ? error.exitCode : 1;
      return;
    }
    console.error(`keyhold: ${errorMessage(error)}`);
    process.exitCode = 1;
  }
}

await main(process.argv);
