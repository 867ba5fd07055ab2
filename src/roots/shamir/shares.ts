import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { invalid } from '../../core/errors.js';

/**
 * Shamir shares of the master key as custodians handle them: `khs1-<n>-<base64url>`, where `n` is the
 * share's number (1..N, for people) and the base64url payload is
 *
 *   share set id (4 bytes) | library share (secret length + 1 byte x-coordinate) | checksum (4 bytes)
 *
 * The checksum (SHA-256 over the prefix, number, set id and share) catches a typo at entry; the set id
 * catches a share from another `keyhold init`. Neither says anything about the secret.
 */
export const SHARE_PREFIX = 'khs1';
const SET_ID_LENGTH = 4;
const CHECKSUM_LENGTH = 4;
export const MIN_THRESHOLD = 2;
export const MAX_SHARES = 255;

export interface DecodedShare {
  /** The number printed on the share (1..N). */
  number: number;
  /** Hex id of the split the share belongs to. */
  shareSet: string;
  /** The library's share bytes (last byte: the x-coordinate). */
  bytes: Uint8Array;
  /** The share's x-coordinate: distinct for every share of one split. */
  x: number;
}

function checksum(number: number, setId: Buffer, share: Uint8Array): Buffer {
  return createHash('sha256').update(`${SHARE_PREFIX}-${number}-`).update(setId).update(share).digest().subarray(0, CHECKSUM_LENGTH);
}

export function encodeShare(number: number, shareSet: string, share: Uint8Array): string {
  const setId = Buffer.from(shareSet, 'hex');
  const payload = Buffer.concat([setId, share, checksum(number, setId, share)]);
  return `${SHARE_PREFIX}-${number}-${payload.toString('base64url')}`;
}

/** Parses a share as typed or pasted; every failure is a one-line `invalid` error that names the problem. */
export function decodeShare(text: string, secretLength: number): DecodedShare {
  const [, numberText, body] = /^khs1-(\d{1,3})-([A-Za-z0-9_-]+)$/.exec(text.trim()) ?? [];
  if (numberText === undefined || body === undefined)
    throw invalid(`this is not a Keyhold share (expected ${SHARE_PREFIX}-<number>-<letters, digits, - and _>, as printed by keyhold init)`);
  const number = Number(numberText);
  const payload = Buffer.from(body, 'base64url');
  // Base64url leaves spare bits in the last character; a share must be exactly as encoded, so a typo there shows too.
  if (
    payload.length !== SET_ID_LENGTH + secretLength + 1 + CHECKSUM_LENGTH ||
    number < 1 ||
    number > MAX_SHARES ||
    payload.toString('base64url') !== body
  ) {
    throw invalid(`share ${numberText} is the wrong length or number; check that it was copied completely`);
  }
  const setId = Buffer.from(payload.subarray(0, SET_ID_LENGTH));
  const bytes = new Uint8Array(payload.subarray(SET_ID_LENGTH, SET_ID_LENGTH + secretLength + 1));
  // The length was checked above, so the x-coordinate (the share's last byte) is there.
  const x = payload.readUInt8(SET_ID_LENGTH + secretLength);
  const given = payload.subarray(SET_ID_LENGTH + secretLength + 1);
  if (!timingSafeEqual(given, checksum(number, setId, bytes))) {
    payload.fill(0);
    bytes.fill(0);
    throw invalid(`share ${number} fails its checksum: it was mistyped or changed; check it character by character`);
  }
  payload.fill(0);
  return { number, shareSet: setId.toString('hex'), bytes, x };
}

export function validateShareCounts(shares: number, threshold: number): void {
  if (!Number.isInteger(shares) || !Number.isInteger(threshold)) throw invalid('--shares and --threshold must be whole numbers');
  if (threshold < MIN_THRESHOLD) {
    throw invalid(`a threshold of ${threshold} would let any single custodian unseal the node alone; use --threshold 2 or more`);
  }
  if (shares < threshold) throw invalid(`--shares (${shares}) must be at least --threshold (${threshold})`);
  if (shares > MAX_SHARES) throw invalid(`--shares must be at most ${MAX_SHARES}`);
}

/** Splits a secret into `shares` encoded shares, `threshold` of which reconstruct it. */
export async function splitSecret(secret: Buffer, shares: number, threshold: number): Promise<{ shareSet: string; shares: string[] }> {
  validateShareCounts(shares, threshold);
  const shareSet = randomBytes(SET_ID_LENGTH).toString('hex');
  const raw = await split(new Uint8Array(secret), shares, threshold);
  const encoded = raw.map((share, i) => encodeShare(i + 1, shareSet, share));
  for (const share of raw) share.fill(0);
  return { shareSet, shares: encoded };
}

/** Reconstructs a secret from decoded shares (at least two, distinct). The caller verifies the result. */
export async function combineShares(shares: readonly Uint8Array[]): Promise<Buffer> {
  const secret = await combine([...shares]);
  const copy = Buffer.from(secret);
  secret.fill(0);
  return copy;
}
