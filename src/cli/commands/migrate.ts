import type { Command } from 'commander';
import { dataDirPaths, resolveDataDir } from '../../core/data-dir.js';
import { CliError } from '../cli-error.js';
import { globalFlags, jsonOutput } from '../global-flags.js';
import { printJson } from '../output.js';
import { refusePasswordInUrl } from '../secret-option.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description("copy an embedded node's whole state (audit log included) from its SQLite file into an empty PostgreSQL database")
    .requiredOption('--to <url>', 'the target PostgreSQL database (postgres://…, password in $PGPASSWORD or ~/.pgpass); it must be empty')
    .action(async (options: { to: string }, command: Command) => {
      // Like --database-url everywhere: a password in a flag shows in ps and shell history.
      refusePasswordInUrl('--to', options.to);
      const paths = dataDirPaths(resolveDataDir(globalFlags(command).dataDir));
      const [{ migrateToPostgres }, { systemClock }] = await Promise.all([
        import('../../backup/migrate.js'),
        import('../../core/clock.js'),
      ]);
      const started = Date.now();
      let result;
      try {
        result = await migrateToPostgres({ paths, to: options.to, clock: systemClock });
      } catch (error) {
        if (error instanceof Error && error.name === 'BackupError') throw new CliError(error.message);
        throw error;
      }
      const seconds = (Date.now() - started) / 1000;
      if (jsonOutput(command)) printJson({ ...result, seconds });
      else
        console.log(
          `copied ${result.rows} rows (${result.counts.keys ?? 0} keys, ${result.counts.audit_events ?? 0} audit events) to PostgreSQL in ${seconds.toFixed(1)} s; start nodes with --database-url and the same root of trust`,
        );
    });
}
