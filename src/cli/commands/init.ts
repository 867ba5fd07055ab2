import type { Command } from 'commander';
import { resolveDataDir } from '../../server/data-dir.js';
import { CliError } from '../admin-client.js';
import { display, firstRunBanner } from '../quickstart-banner.js';
import { sharesBanner } from '../shares-banner.js';

/** `--shares N --threshold M`: both or neither, whole numbers (the ranges are checked by init). */
function shamirCounts(options: { shares?: string; threshold?: string }): { shares: number; threshold: number } | undefined {
  if (options.shares === undefined && options.threshold === undefined) return undefined;
  if (options.shares === undefined || options.threshold === undefined) {
    throw new CliError('give both --shares N and --threshold M to split the master key (or neither for a master key file)', 2);
  }
  const parse = (flag: string, text: string) => {
    if (!/^\d{1,3}$/.test(text.trim())) throw new CliError(`${flag} must be a whole number (got "${text}")`, 2);
    return Number(text);
  };
  return { shares: parse('--shares', options.shares), threshold: parse('--threshold', options.threshold) };
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a data directory: master key (or Shamir shares), TLS certificate, admin token, database, demo keystore and key')
    .option('--database-url <url>', 'PostgreSQL URL (default: $KEYHOLD_DATABASE_URL, else SQLite in the data directory)')
    .option('--no-demo', 'do not create the demo keystore and key')
    .option('--shares <n>', 'split the master key into N Shamir shares, one per custodian (2-255); the node starts sealed')
    .option('--threshold <m>', 'how many shares unseal the node (2 to N)')
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<{ dataDir?: string; databaseUrl?: string; demo: boolean; shares?: string; threshold?: string }>();
      const shamir = shamirCounts(options);
      // Loaded here so management commands do not pay for the server's modules.
      const [{ initDataDir }, { systemClock }] = await Promise.all([import('../../server/init.js'), import('../../core/clock.js')]);
      const result = await initDataDir({
        dataDir: resolveDataDir(options.dataDir),
        databaseUrl: options.databaseUrl ?? process.env.KEYHOLD_DATABASE_URL,
        demo: options.demo,
        clock: systemClock,
        shamir,
      });
      console.log(`Created ${display(result.paths.root)}`);
      if (result.shares) console.log(sharesBanner(result));
      console.log(firstRunBanner(result, undefined));
    });
}
