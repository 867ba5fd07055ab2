import type { Command } from 'commander';
import { resolveDataDir } from '../../server/data-dir.js';
import { display, firstRunBanner } from '../quickstart-banner.js';

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a data directory: master key, TLS certificate, admin token, database, demo keystore and key')
    .option('--database-url <url>', 'PostgreSQL URL (default: $KEYHOLD_DATABASE_URL, else SQLite in the data directory)')
    .option('--no-demo', 'do not create the demo keystore and key')
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<{ dataDir?: string; databaseUrl?: string; demo: boolean }>();
      // Loaded here so management commands do not pay for the server's modules.
      const [{ initDataDir }, { systemClock }] = await Promise.all([import('../../server/init.js'), import('../../core/clock.js')]);
      const result = await initDataDir({
        dataDir: resolveDataDir(options.dataDir),
        databaseUrl: options.databaseUrl ?? process.env.KEYHOLD_DATABASE_URL,
        demo: options.demo,
        clock: systemClock,
      });
      console.log(`Created ${display(result.paths.root)}`);
      console.log(firstRunBanner(result, undefined));
    });
}
