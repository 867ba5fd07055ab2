import { createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { isJsonObject } from '../core/json.js';
import { aesGcmDecrypt, aesGcmEncrypt } from '../crypto/aes-gcm.js';

/**
 * The master key as it crosses between two nodes of a Shamir fleet (peer unseal, docs/fleet.md#unseal):
 * sealed to an ephemeral X25519 key the requester made for this one request, so it never crosses in the
 * clear even inside the mutual-TLS channel, and a recording of the channel is useless once the requester
 * has forgotten its private key. X25519 ECDH (a fresh granter key per answer) → HKDF-SHA-256 (a random
 * salt, an info string naming both nodes and both public keys) → AES-256-GCM with that string as AAD, so
 * an envelope made for one requester and granter does not open as another pair's.
 */

const INFO_PREFIX = 'keyhold peer unseal v1';
const IV_LENGTH = 12;
const SALT_LENGTH = 32;

/** The requester's half: its private key stays in memory for the one request; the public key is sent (SPKI DER, base64). */
export interface PeerKeyPair {
  privateKey: KeyObject;
  publicKey: string;
}

/** What the requester sends: who it is and where to seal the root. */
export interface PeerRootRequest {
  nodeId: string;
  publicKey: string;
}

/** What the granter answers: the root sealed to the requester's key (every field base64 but the node id). */
export interface SealedPeerRoot {
  nodeId: string;
  publicKey: string;
  salt: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

export function ephemeralKeyPair(): PeerKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey, publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
}

/** An X25519 public key (SPKI DER, base64); throws a one-line Error for anything else. */
function x25519PublicKey(text: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new Error('the peer-unseal public key is not an SPKI-encoded public key');
  }
  if (key.asymmetricKeyType !== 'x25519')
    throw new Error(`the peer-unseal public key is ${key.asymmetricKeyType ?? 'unknown'}, not X25519`);
  return key;
}

/** The HKDF info and GCM AAD: both node ids and both public keys, in a fixed order. */
function bindingOf(requester: PeerRootRequest, granter: { nodeId: string; publicKey: string }): Buffer {
  return Buffer.from(JSON.stringify([INFO_PREFIX, requester.nodeId, requester.publicKey, granter.nodeId, granter.publicKey]), 'utf8');
}

function wrappingKey(shared: Buffer, salt: Buffer, binding: Buffer): Buffer {
  const key = Buffer.from(hkdfSync('sha256', shared, salt, binding, 32));
  shared.fill(0);
  return key;
}

/** The granter's side: seals `masterKey` to the requester's public key (the caller wipes `masterKey`). */
export function sealRootForPeer(request: PeerRootRequest, granterNodeId: string, masterKey: Buffer): SealedPeerRoot {
  const requesterKey = x25519PublicKey(request.publicKey);
  const mine = generateKeyPairSync('x25519');
  const granter = { nodeId: granterNodeId, publicKey: mine.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
  const binding = bindingOf(request, granter);
  const salt = randomBytes(SALT_LENGTH);
  const iv = randomBytes(IV_LENGTH);
  const key = wrappingKey(diffieHellman({ privateKey: mine.privateKey, publicKey: requesterKey }), salt, binding);
  try {
    const { ciphertext, tag } = aesGcmEncrypt(key, iv, masterKey, binding);
    return {
      ...granter,
      salt: salt.toString('base64'),
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: tag.toString('base64'),
    };
  } finally {
    key.fill(0);
  }
}

/** Reads a granter's answer; undefined when it is not one. */
export function parseSealedPeerRoot(value: unknown): SealedPeerRoot | undefined {
  if (!isJsonObject(value)) return undefined;
  const fields = ['nodeId', 'publicKey', 'salt', 'iv', 'ciphertext', 'tag'] as const;
  if (!fields.every((name) => typeof value[name] === 'string')) return undefined;
  const text = (name: (typeof fields)[number]) => String(value[name]);
  return {
    nodeId: text('nodeId'),
    publicKey: text('publicKey'),
    salt: text('salt'),
    iv: text('iv'),
    ciphertext: text('ciphertext'),
    tag: text('tag'),
  };
}

/**
 * The requester's side: opens the envelope with its ephemeral private key. Throws when it was sealed to
 * another key, for another requester id, or changed on the way (the GCM tag does not verify). Whether
 * the key is this fleet's master key is the root's check (SealableRoot.enterMasterKey), not this one's.
 */
export function openSealedPeerRoot(pair: PeerKeyPair, requesterNodeId: string, sealed: SealedPeerRoot): Buffer {
  const granterKey = x25519PublicKey(sealed.publicKey);
  const binding = bindingOf({ nodeId: requesterNodeId, publicKey: pair.publicKey }, sealed);
  const iv = Buffer.from(sealed.iv, 'base64');
  const salt = Buffer.from(sealed.salt, 'base64');
  if (iv.length !== IV_LENGTH || salt.length !== SALT_LENGTH) throw new Error('the peer-unseal envelope has a malformed IV or salt');
  const key = wrappingKey(diffieHellman({ privateKey: pair.privateKey, publicKey: granterKey }), salt, binding);
  try {
    return aesGcmDecrypt(key, iv, Buffer.from(sealed.ciphertext, 'base64'), binding, Buffer.from(sealed.tag, 'base64'));
  } finally {
    key.fill(0);
  }
}
