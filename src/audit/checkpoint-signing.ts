import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import type { AuditStore, Checkpoint } from './audit-store.js';
import { GENESIS_HASH } from './event.js';

/** The bytes a checkpoint signature covers: JSON ["keyhold-audit-checkpoint-v1", chain, seq, hash, time] in UTF-8. */
export function checkpointMessage(checkpoint: Pick<Checkpoint, 'chain' | 'seq' | 'hash' | 'time'>): Buffer {
  return Buffer.from(JSON.stringify(['keyhold-audit-checkpoint-v1', checkpoint.chain, checkpoint.seq, checkpoint.hash, checkpoint.time]), 'utf8');
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
 * the root of trust, the public key stored in the clear. Unsealed lazily, so a root that is not
 * yet unsealed only postpones checkpoints.
 */
export async function openCheckpointSigner(options: { audit: AuditStore; root: RootOfTrust; chain: string; now: number }): Promise<CheckpointSigner> {
  const { audit, root, chain } = options;
  let row = await audit.getChain(chain);
  if (!row) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const sealed = await root.sealSecret(der, sealContextFor(chain));
    der.fill(0);
    await audit.createChain({
      chain_id: chain,
      public_key: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      sealed_private_key: sealed,
      anchor_seq: 0,
      anchor_hash: GENESIS_HASH,
      forwarded_seq: 0,
      created_at: options.now,
    });
    row = (await audit.getChain(chain))!;
  }
  const chainRow = row;
  let privateKey: KeyObject | undefined;
  return {
    publicKeyPem: chainRow.public_key,
    async sign(checkpoint) {
      if (!privateKey) {
        try {
          const der = await root.unsealSecret(chainRow.sealed_private_key, sealContextFor(chain));
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
