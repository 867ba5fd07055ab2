import { readMasterKeyFile } from './master-key-file.js';
import type { RootConfig, RootFiles } from './root-config.js';
import type { RootOfTrust, SecretSealer } from './root-of-trust.js';
import { createSoftwareRoot } from './software-root.js';

/**
 * What seals the SigV4 credential secrets of keystores. Usually the root of trust itself. A Shamir node
 * starts sealed yet must still authenticate KMS (every XKS call, health included, is SigV4-signed), so
 * there the secrets are sealed under a separate credential key file (`credential.key`, 0600) instead:
 * reading the data directory then reveals the SigV4 secrets, but never key material (docs/unseal.md).
 */
export function openSecretSealer(paths: Pick<RootFiles, 'credentialKey'>, config: RootConfig, root: RootOfTrust): SecretSealer {
  if (config.kind !== 'shamir') return root;
  return createSoftwareRoot(readMasterKeyFile(paths.credentialKey, 'credential key file'));
}
