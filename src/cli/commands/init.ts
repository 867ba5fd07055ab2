import { resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataDir } from '../../core/data-dir.js';
import type { InitResult } from '../../server/init.js';
import { CliError } from '../cli-error.js';
import { display, firstRunBanner } from '../quickstart-banner.js';
import { sharesBanner } from '../shares-banner.js';
import { printJson, printNote } from '../output.js';
import { invalid } from '../../core/errors.js';
import type { RootConfig } from '../../roots/root-config.js';
import { databaseUrlOption } from '../secret-option.js';

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

interface RootOptions {
  root?: string;
  pkcs11Library?: string;
  pkcs11TokenLabel?: string;
  pkcs11PinFile?: string;
  pkcs11Mode: string;
}

/** The root of trust asked for on the command line; checked before anything is created. */
function rootConfigFromOptions(options: RootOptions): RootConfig | undefined {
  if (options.root === undefined || options.root === 'master-key-file') return undefined;
  if (options.root !== 'pkcs11') throw invalid(`unknown root of trust "${options.root}"; use master-key-file or pkcs11`);
  if (!options.pkcs11Library) throw invalid('--root pkcs11 needs --pkcs11-library');
  if (!options.pkcs11TokenLabel) throw invalid('--root pkcs11 needs --pkcs11-token-label');
  if (options.pkcs11Mode !== 'keys' && options.pkcs11Mode !== 'wrap') throw invalid('--pkcs11-mode must be keys or wrap');
  return {
    kind: 'pkcs11',
    mode: options.pkcs11Mode,
    library: resolve(options.pkcs11Library),
    tokenLabel: options.pkcs11TokenLabel,
    ...(options.pkcs11PinFile ? { pinFile: resolve(options.pkcs11PinFile) } : {}),
  };
}

/** What init created, for scripts: absolute paths, the demo credential and the Shamir shares (both shown only now). */
function printInitJson(result: InitResult): void {
  const { demo, shares } = result;
  printJson({
    dataDir: result.paths.root,
    adminTokenFile: result.paths.adminToken,
    ...(demo
      ? {
          demo: {
            keystore: demo.keystore.name,
            uriPath: demo.keystore.uriPath,
            region: demo.keystore.region,
            accessKeyId: demo.credential.accessKeyId,
            secretAccessKey: demo.credential.secret,
            kmsConsoleFile: demo.kmsConsoleFile,
            keyId: demo.keyId,
          },
        }
      : {}),
    ...(shares ? { unseal: { threshold: shares.threshold, shares: shares.shares } } : {}),
  });
  if (demo) printNote('demo.secretAccessKey: shown only now; it is kept in the KMS console file');
  if (shares) {
    printNote(
      `unseal.shares: shown only now and stored nowhere; give each to a different custodian (without ${shares.threshold} of them every key is lost); the node starts sealed`,
    );
  }
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a data directory: master key (or Shamir shares), TLS certificate, admin token, database, demo keystore and key')
    .option('--database-url <url>', 'PostgreSQL URL (default: $KEYHOLD_DATABASE_URL, else SQLite in the data directory)')
    .option('--no-demo', 'do not create the demo keystore and key')
    .option('--shares <n>', 'split the master key into N Shamir shares, one per custodian (2-255); the node starts sealed')
    .option('--threshold <m>', 'how many shares unseal the node (2 to N)')
    .option('--root <kind>', 'root of trust: master-key-file (default) or pkcs11 (see docs/root-of-trust.md)')
    .option('--pkcs11-library <path>', 'PKCS#11 library of the HSM, e.g. /usr/lib/softhsm/libsofthsm2.so')
    .option('--pkcs11-token-label <label>', 'label of the HSM token to use')
    .option('--pkcs11-pin-file <file>', 'file (mode 600) holding the token user PIN (default: $KEYHOLD_PKCS11_PIN)')
    .option('--pkcs11-mode <mode>', 'keys: every key inside the HSM; wrap: only the master key in the HSM', 'keys')
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<
        { dataDir?: string; databaseUrl?: string; demo: boolean; shares?: string; threshold?: string; json?: boolean } & RootOptions
      >();
      const shamir = shamirCounts(options);
      const root = rootConfigFromOptions(options);
      if (shamir && root) throw invalid('--shares/--threshold split a master key; they do not combine with --root pkcs11');
      // Loaded here so management commands do not pay for the server's modules.
      const [{ initDataDir }, { systemClock }] = await Promise.all([import('../../server/init.js'), import('../../core/clock.js')]);
      const result = await initDataDir({
        dataDir: resolveDataDir(options.dataDir),
        databaseUrl: databaseUrlOption(options.databaseUrl),
        demo: options.demo,
        clock: systemClock,
        shamir,
        root,
      });
      if (options.json) return printInitJson(result);
      console.log(`Created ${display(result.paths.root)}`);
      if (result.shares) console.log(sharesBanner(result));
      console.log(firstRunBanner(result, undefined));
    });
}
