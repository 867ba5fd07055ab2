/** `keyhold`: parses the command line and turns every failure into one `keyhold: …` line and an exit code. */
import { CommanderError } from 'commander';
import { ManagementError } from '../core/errors.js';
import { CliError, errorMessage } from './cli-error.js';
import { lowerPriorityOfAllThreads } from './process-priority.js';

/** Exit code of a usage error: Commander's own (printed by the program's output configuration) and ours. */
const USAGE_EXIT_CODE = 2;

export async function main(argv: string[]): Promise<void> {
  // Everything Keyhold writes (database, WAL, keys, tokens) is for its owner only.
  process.umask(0o077);
  // A backup runs beside a serving node: it yields the CPU from its first instruction, before the command
  // modules load (half a second of a core), not only once the command runs (docs/backup.md#pacing).
  if (takesABackup(argv)) lowerPriorityOfAllThreads();
  const { buildProgram } = await import('./program.js');
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

/** `keyhold … backup create …` (the words in that order; global flags may come first). */
function takesABackup(argv: string[]): boolean {
  const words = argv.slice(2);
  const backup = words.indexOf('backup');
  return backup >= 0 && words[backup + 1] === 'create';
}

await main(process.argv);
