import { conflict, invalid } from '../../core/errors.js';
import { MASTER_KEY_LENGTH } from '../master-key-file.js';
import type { ShamirRootConfig } from '../root-config.js';
import { RootSealedError, type EkmHealth, type RootOfTrust } from '../root-of-trust.js';
import { createSoftwareRoot } from '../software-root.js';
import { combineShares, decodeShare, MAX_SHARES, MIN_THRESHOLD } from './shares.js';

/** The known value sealed under the master key at init; unsealing it proves a reconstruction is right. */
const VERIFIER_CONTEXT = 'shamir-master-key-verifier';
const VERIFIER_VALUE = Buffer.from('keyhold shamir master key verifier v1', 'utf8');

export const WRONG_SHARES = "these shares do not reconstruct this node's master key";
export const WRONG_ROOT = "this master key is not this node's (it does not open the verifier in root.json)";

/** Seals the known value under a master key: stored in root.json at init. */
export async function createVerifier(masterKey: Buffer): Promise<string> {
  const root = createSoftwareRoot(masterKey);
  return (await root.sealSecret(VERIFIER_VALUE, VERIFIER_CONTEXT)).toString('base64');
}

async function verifies(masterKey: Buffer, verifier: string): Promise<boolean> {
  try {
    const value = await createSoftwareRoot(masterKey).unsealSecret(Buffer.from(verifier, 'base64'), VERIFIER_CONTEXT);
    return value.equals(VERIFIER_VALUE);
  } catch {
    return false;
  }
}

export interface UnsealProgress {
  sealed: boolean;
  threshold: number;
  shares: number;
  /** Shares entered so far (0 once unsealed). */
  entered: number;
}

/** A root of trust that starts sealed and becomes a software root once enough Shamir shares are entered. */
export interface SealableRoot extends RootOfTrust {
  readonly kind: 'shamir';
  progress(): UnsealProgress;
  /**
   * Takes one share. Below the threshold it is kept (in memory only); at the threshold the shares are
   * combined and verified. A wrong reconstruction discards every entered share and rejects with
   * WRONG_SHARES; the root stays sealed. Rejects with a ManagementError for a malformed, foreign or
   * duplicate share (progress unchanged) or when already unsealed.
   */
  enterShare(text: string): Promise<UnsealProgress>;
  /** Forgets the shares entered so far (wiped from memory). */
  resetShares(): UnsealProgress;
  /**
   * Unseals with the whole master key (peer unseal, docs/fleet.md#unseal), checked against the verifier
   * in root.json exactly as a reconstruction from shares is: a wrong key rejects with WRONG_ROOT and the
   * root stays sealed. The caller's buffer is not kept (it may wipe it).
   */
  enterMasterKey(masterKey: Buffer): Promise<UnsealProgress>;
  /** A copy of the master key, for peer unseal only; the caller wipes it. Throws RootSealedError while sealed. */
  exportMasterKey(): Buffer;
}

export function validateShamirConfig(config: ShamirRootConfig): void {
  const { shares, threshold, shareSet, verifier } = config;
  if (
    !Number.isInteger(shares) ||
    !Number.isInteger(threshold) ||
    threshold < MIN_THRESHOLD ||
    shares < threshold ||
    shares > MAX_SHARES ||
    typeof shareSet !== 'string' ||
    !/^[0-9a-f]{8}$/.test(shareSet) ||
    typeof verifier !== 'string' ||
    verifier.length === 0
  ) {
    throw new Error('root.json describes a Shamir root without valid shares, threshold, shareSet and verifier');
  }
}

export function isSealableRoot(root: RootOfTrust): root is SealableRoot {
  return root.kind === 'shamir' && 'enterShare' in root && typeof root.enterShare === 'function';
}

export function createSealableRoot(config: ShamirRootConfig): SealableRoot {
  validateShamirConfig(config);
  const entered = new Map<number, Uint8Array>();
  let inner: RootOfTrust | undefined;
  /** The master key while unsealed (peer unseal hands a copy to a verified peer); wiped on close. */
  let held: Buffer | undefined;
  // Shares are entered one at a time: a second call waits for the first (combine and verify are async).
  let queue: Promise<unknown> = Promise.resolve();

  const progress = (): UnsealProgress => ({
    sealed: inner === undefined,
    threshold: config.threshold,
    shares: config.shares,
    entered: entered.size,
  });

  function wipe(): void {
    for (const share of entered.values()) share.fill(0);
    entered.clear();
  }

  function unsealed(): RootOfTrust {
    if (!inner) throw new RootSealedError();
    return inner;
  }

  async function take(text: string): Promise<UnsealProgress> {
    if (inner) throw conflict('the node is already unsealed');
    const share = decodeShare(text, MASTER_KEY_LENGTH);
    if (share.shareSet !== config.shareSet) {
      share.bytes.fill(0);
      throw invalid(`this share belongs to another Keyhold init (share set ${share.shareSet}; this node's is ${config.shareSet})`);
    }
    const { x } = share;
    if (entered.has(x)) {
      share.bytes.fill(0);
      throw conflict(`share ${share.number} was already entered (${entered.size} of ${config.threshold} shares entered)`);
    }
    entered.set(x, share.bytes);
    if (entered.size < config.threshold) return progress();

    const masterKey = await combineShares([...entered.values()]);
    wipe();
    try {
      if (!(await verifies(masterKey, config.verifier))) {
        throw invalid(`${WRONG_SHARES}; the ${config.threshold} shares entered were discarded, enter ${config.threshold} shares again`);
      }
      inner = createSoftwareRoot(masterKey);
      held = Buffer.from(masterKey);
      return progress();
    } finally {
      masterKey.fill(0);
    }
  }

  async function takeMasterKey(given: Buffer): Promise<UnsealProgress> {
    if (inner) throw conflict('the node is already unsealed');
    if (given.length !== MASTER_KEY_LENGTH) throw invalid(WRONG_ROOT);
    const masterKey = Buffer.from(given);
    try {
      if (!(await verifies(masterKey, config.verifier))) throw invalid(WRONG_ROOT);
      wipe();
      inner = createSoftwareRoot(masterKey);
      held = Buffer.from(masterKey);
      return progress();
    } finally {
      masterKey.fill(0);
    }
  }

  return {
    kind: 'shamir',
    get model() {
      return `Keyhold software root of trust, Shamir ${config.threshold}-of-${config.shares} master key (AES-256-GCM, OpenSSL ${process.versions.openssl})`;
    },
    progress,
    enterShare(text) {
      const result = queue.then(() => take(text));
      queue = result.catch(() => undefined);
      return result;
    },
    resetShares() {
      wipe();
      return progress();
    },
    enterMasterKey(masterKey) {
      const result = queue.then(() => takeMasterKey(masterKey));
      queue = result.catch(() => undefined);
      return result;
    },
    exportMasterKey() {
      if (!held) throw new RootSealedError();
      return Buffer.from(held);
    },
    createKeyMaterial: async (context) => unsealed().createKeyMaterial(context),
    importKeyMaterial: async (material, context) => unsealed().importKeyMaterial(material, context),
    openKey: async (reference, context) => unsealed().openKey(reference, context),
    destroyKeyMaterial: async (reference, context) => unsealed().destroyKeyMaterial(reference, context),
    sealSecret: async (secret, context) => unsealed().sealSecret(secret, context),
    unsealSecret: async (sealed, context) => unsealed().unsealSecret(sealed, context),
    state: (): EkmHealth => (inner ? inner.state() : 'UNAVAILABLE'),
    async close() {
      wipe();
      held?.fill(0);
      held = undefined;
      await inner?.close();
      inner = undefined;
    },
  };
}
