import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Which root of trust a data directory uses (docs/architecture.md#roots-of-trust), kept in `root.json` beside the database.
 * A data directory without the file uses the master key file (the development default).
 */
export type RootConfig =
  /** AES-256-GCM under `master.key` in the data directory. */
  | { kind: 'master-key-file' }
  /** AES-256-GCM under a master key split into Shamir shares; the node starts sealed. */
  | ShamirRootConfig
  /** A PKCS#11 token: keys inside the HSM (`keys`) or only the master wrapping key (`wrap`). */
  | Pkcs11RootConfig;

/**
 * The PIN comes from `pinFile` (mode 0600) or $KEYHOLD_PKCS11_PIN, never from this file.
 * `masterKeyId` is the hex CKA_ID of this data directory's master key on the token (set by `keyhold init`).
 */
export interface Pkcs11RootConfig {
  kind: 'pkcs11';
  mode: 'keys' | 'wrap';
  library: string;
  tokenLabel: string;
  pinFile?: string;
  masterKeyId?: string;
  /** Pooled sessions, one worker thread each (default 2). */
  sessions?: number;
  /** An HSM call not answered within this long fails with DependencyTimeoutException (default 2000). */
  callTimeoutMs?: number;
  /** Calls waiting per session before new ones are refused with DependencyTimeoutException (default 256). */
  maxQueuePerSession?: number;
  /** Idle sessions are probed this often to notice a lost token (default 5000; 0 never). */
  probeIntervalMs?: number;
  /** Pause between reconnect attempts after a lost session or token (default 1000). */
  reconnectIntervalMs?: number;
}

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

/**
 * The files of a data directory roots of trust read and write (the data directory's paths hold them):
 * each function takes only the ones it uses.
 */
export interface RootFiles {
  /** `root.json`: which root of trust (RootConfig). */
  rootConfig: string;
  /** `master.key`: the software root's master key. */
  masterKey: string;
  /** `credential.key`: seals SigV4 secrets on a Shamir node (secret-sealer.ts). */
  credentialKey: string;
}

export const DEFAULT_ROOT_CONFIG: RootConfig = { kind: 'master-key-file' };

const ROOT_KINDS: readonly unknown[] = ['master-key-file', 'shamir', 'pkcs11'] satisfies RootConfig['kind'][];

/**
 * Whether a parsed root.json names a kind of root. Only the kind is checked here: each root checks its
 * own fields when it opens (validateShamirConfig, createPkcs11Root).
 */
function isRootConfig(value: unknown): value is RootConfig {
  return typeof value === 'object' && value !== null && 'kind' in value && ROOT_KINDS.includes(value.kind);
}

export function readRootConfig(path: string): RootConfig {
  if (!existsSync(path)) return DEFAULT_ROOT_CONFIG;
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isRootConfig(parsed)) {
    throw new Error(`${path} does not describe a root of trust (kind must be master-key-file, shamir or pkcs11)`);
  }
  return parsed;
}

export function writeRootConfig(path: string, config: RootConfig): void {
  writeFileSync(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
}
