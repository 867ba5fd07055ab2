import { randomBytes } from 'node:crypto';
import { createMasterKeyFile, MASTER_KEY_LENGTH } from '../master-key-file.js';
import { writeRootConfig, type RootFiles } from '../root-config.js';
import type { RootOfTrust } from '../root-of-trust.js';
import { createSoftwareRoot } from '../software-root.js';
import { createVerifier } from './sealable-root.js';
import { splitSecret, validateShareCounts } from './shares.js';

/**
 * Sets up a Shamir data directory: a fresh master key split into shares, `root.json` (counts, share set,
 * verifier) and the credential key file. Returns the shares, to be shown once and never stored, and an
 * unsealed root over the master key for the rest of init (canary, demo key); the key itself lives on only
 * inside that root's KeyObject.
 */
export async function initShamirRoot(
  paths: Pick<RootFiles, 'rootConfig' | 'credentialKey'>,
  counts: { shares: number; threshold: number },
): Promise<{ root: RootOfTrust; shares: string[] }> {
  validateShareCounts(counts.shares, counts.threshold);
  const masterKey = randomBytes(MASTER_KEY_LENGTH);
  try {
    const { shareSet, shares } = await splitSecret(masterKey, counts.shares, counts.threshold);
    writeRootConfig(paths.rootConfig, {
      kind: 'shamir',
      shares: counts.shares,
      threshold: counts.threshold,
      shareSet,
      verifier: await createVerifier(masterKey),
    });
    createMasterKeyFile(paths.credentialKey);
    return { root: createSoftwareRoot(masterKey), shares };
  } finally {
    masterKey.fill(0);
  }
}
