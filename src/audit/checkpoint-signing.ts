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
  let sealedPrivateKey = existing?.sealed_private_key;
  let privateKey: KeyObject | undefined;
  let publicKeyPem = existing?.public_key;
  if (!existing) {
    // First start: a new key pair. Its private half is stored only once the root can seal it; until
    // then (a root that is not unsealed yet) it stays in memory and checkpoints are postponed.
    const pair = generateKeyPairSync('ed25519');
    privateKey = pair.privateKey;
    publicKeyPem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }
  let stored = Boolean(existing);

  /** Seals and stores a new key pair; false while the root cannot seal. */
  async function storeKey(): Promise<boolean> {
    const der = privateKey!.export({ format: 'der', type: 'pkcs8' });
    try {
      sealedPrivateKey = await root.sealSecret(der, sealContextFor(chain));
    } catch {
      return false;
    } finally {
      der.fill(0);
    }
    await audit.createChain({
      chain_id: chain,
      public_key: publicKeyPem!,
      sealed_private_key: sealedPrivateKey,
      anchor_seq: 0,
      anchor_hash: GENESIS_HASH,
      forwarded_seq: 0,
      created_at: options.now,
    });
    // Another process may have created the chain first (same node id): use what is stored.
    const row = (await audit.getChain(chain))!;
    if (row.public_key !== publicKeyPem) {
      publicKeyPem = row.public_key;
      sealedPrivateKey = row.sealed_private_key;
      privateKey = undefined;
    }
    stored = true;
    return true;
  }
  if (!stored) await storeKey();

  return {
    get publicKeyPem() {
      return publicKeyPem!;
    },
    async sign(checkpoint) {
      if (!stored && !(await storeKey())) return undefined;
      if (!privateKey) {
        try {
          const der = await root.unsealSecret(sealedPrivateKey!, sealContextFor(chain));
          privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
          der.fill(0);
        } catch {
          return undefined;
        }
      }
      return { ...checkpoint, signature: sign(null, checkpointMessage(checkpoint), privateKey).toString('base64') };
    },
  };
}
