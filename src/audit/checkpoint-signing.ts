import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import type { AuditStore, Checkpoint } from './audit-store.js';
import { GENESIS_HASH } from './event.js';

/** The bytes a checkpoint signature covers: JSON ["keyhold-audit-checkpoint-v1", chain, seq, hash, time] in UTF-8. */
export function checkpointMessage(checkpoint: Pick<Checkpoint, 'chain' | 'seq' | 'hash' | 'time'>): Buffer {
  return Buffer.from(
    JSON.stringify(['keyhold-audit-checkpoint-v1', checkpoint.chain, checkpoint.seq, checkpoint.hash, checkpoint.time]),
    'utf8',
  );
}

export function verifyCheckpoint(checkpoint: Checkpoint, publicKeyPem: string): boolean {
  try {
    return verify(null, checkpointMessage(checkpoint), createPublicKey(publicKeyPem), Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}

const sealContextFor = (chain: string) => `audit-signing-key:${chain}`;

export interface CheckpointSigner {
  readonly publicKeyPem: string;
  /** Signs, or returns undefined while the root of trust cannot unseal the key (e.g. a sealed Shamir root). */
  sign(checkpoint: Omit<Checkpoint, 'signature'>): Promise<Checkpoint | undefined>;
}

/** The chain's key pair: recorded (sealed in the database), or new and held in memory until the root can seal it. */
type SigningKey =
  | { stored: true; publicKeyPem: string; sealedPrivateKey: Buffer; privateKey?: KeyObject }
  | { stored: false; publicKeyPem: string; privateKey: KeyObject };

/**
 * The chain's Ed25519 signing key: generated on the node's first start, the private key sealed with
 * the root of trust, the public key stored in the clear (audit_chains). Sealed and unsealed lazily,
 * so a root that is not unsealed yet only postpones checkpoints; requests never wait for it.
 */
export async function openCheckpointSigner(options: {
  audit: AuditStore;
  root: RootOfTrust;
  chain: string;
  now: number;
}): Promise<CheckpointSigner> {
  const { audit, root, chain } = options;
  const existing = await audit.getChain(chain);
  // First start: a new key pair. Its private half is stored only once the root can seal it; until
  // then (a root that is not unsealed yet) it stays in memory and checkpoints are postponed.
  let key: SigningKey = existing
    ? { stored: true, publicKeyPem: existing.publicKey, sealedPrivateKey: existing.sealedPrivateKey }
    : newKeyPair();

  /** Seals and records a new key pair; false while the root cannot seal. */
  async function storeKey(pending: Extract<SigningKey, { stored: false }>): Promise<boolean> {
    const der = pending.privateKey.export({ format: 'der', type: 'pkcs8' });
    let sealedPrivateKey: Buffer;
    try {
      sealedPrivateKey = await root.sealSecret(der, sealContextFor(chain));
    } catch {
      return false;
    } finally {
      der.fill(0);
    }
    await audit.createChain({
      chain,
      publicKey: pending.publicKeyPem,
      sealedPrivateKey,
      anchorSeq: 0,
      anchorHash: GENESIS_HASH,
      forwardedSeq: 0,
      createdAt: options.now,
    });
    // Another process may have created the chain first (same node id): use what is stored.
    const recorded = await audit.getChain(chain);
    if (!recorded) throw new Error(`audit chain ${chain} was not recorded`);
    key =
      recorded.publicKey === pending.publicKeyPem
        ? { stored: true, publicKeyPem: pending.publicKeyPem, sealedPrivateKey, privateKey: pending.privateKey }
        : { stored: true, publicKeyPem: recorded.publicKey, sealedPrivateKey: recorded.sealedPrivateKey };
    return true;
  }

  /** The private key, unsealed when needed; undefined while the root cannot seal or unseal. */
  async function privateKey(): Promise<KeyObject | undefined> {
    if (!key.stored && !(await storeKey(key))) return undefined;
    if (key.privateKey) return key.privateKey;
    if (!key.stored) return undefined;
    try {
      const der = await root.unsealSecret(key.sealedPrivateKey, sealContextFor(chain));
      key.privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      der.fill(0);
      return key.privateKey;
    } catch {
      return undefined;
    }
  }

  if (!key.stored) await storeKey(key);

  return {
    get publicKeyPem() {
      return key.publicKeyPem;
    },
    async sign(checkpoint) {
      const signingKey = await privateKey();
      if (!signingKey) return undefined;
      return { ...checkpoint, signature: sign(null, checkpointMessage(checkpoint), signingKey).toString('base64') };
    },
  };
}

function newKeyPair(): SigningKey {
  const pair = generateKeyPairSync('ed25519');
  return { stored: false, publicKeyPem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(), privateKey: pair.privateKey };
}
