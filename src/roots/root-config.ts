import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Which root of trust a data directory uses (DESIGN.md §4), kept in `root.json` beside the database.
 * A data directory without the file uses the master key file (the development default).
 */
export type RootConfig =
  /** AES-256-GCM under `master.key` in the data directory. */
  | { kind: 'master-key-file' }
  /** AES-256-GCM under a master key split into Shamir shares; the node starts sealed. */
  | ShamirRootConfig
  /** A PKCS#11 token: keys inside the HSM (`keys`) or only the master wrapping key (`wrap`). */
  | { kind: 'pkcs11'; mode: 'keys' | 'wrap'; library: string; tokenLabel: string; pinFile?: string };

/**
 * A master key split into `shares` Shamir shares of which `threshold` reconstruct it. The shares are
 * never stored; `shareSet` (random, public) names this split so a share from another init is refused at
 * entry, and `verifier` (a known value sealed under the master key) proves a reconstruction is right.
 */
export interface ShamirRootConfig {
  kind: 'shamir';
  shares: number;
  threshold: number;
  /** Hex id of this split, carried in every share. */
  shareSet: string;
  /** Base64 of a known value sealed under the master key (software root format). */
  verifier: string;
}

export const DEFAULT_ROOT_CONFIG: RootConfig = { kind: 'master-key-file' };

export function readRootConfig(path: string): RootConfig {
  if (!existsSync(path)) return DEFAULT_ROOT_CONFIG;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as RootConfig;
  if (!parsed || typeof parsed !== 'object' || !['master-key-file', 'shamir', 'pkcs11'].includes(parsed.kind)) {
    throw new Error(`${path} does not describe a root of trust (kind must be master-key-file, shamir or pkcs11)`);
  }
  return parsed;
}

export function writeRootConfig(path: string, config: RootConfig): void {
  writeFileSync(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
}
