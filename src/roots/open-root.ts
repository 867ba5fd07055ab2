import { readMasterKeyFile } from './master-key-file.js';
import { readRootConfig, type RootConfig, type RootFiles } from './root-config.js';
import type { RootEventListener, RootOfTrust } from './root-of-trust.js';
import { createSealableRoot } from './shamir/sealable-root.js';
import { createSoftwareRoot } from './software-root.js';

/** Opens the root of trust a data directory is configured for. */
export async function openRootOfTrust(
  paths: Pick<RootFiles, 'rootConfig' | 'masterKey'>,
  config: RootConfig = readRootConfig(paths.rootConfig),
  /** Told when a device-backed root loses or regains its device (for the log). */
  onRootEvent?: RootEventListener,
): Promise<RootOfTrust> {
  switch (config.kind) {
    case 'master-key-file':
      return createSoftwareRoot(readMasterKeyFile(paths.masterKey));
    case 'shamir':
      // Starts sealed: crypto waits for the custodians' shares (src/unseal/, docs/unseal.md).
      return createSealableRoot(config);
    case 'pkcs11': {
      // Loaded on demand: only a PKCS#11 node loads the native addon and starts worker threads.
      const { createPkcs11Root } = await import('./pkcs11/pkcs11-root.js');
      return createPkcs11Root(config, { pool: { onEvent: onRootEvent } });
    }
  }
}
