/**
 * The simulator's own ciphertext blob and inner (KMS-side) encryption layer.
 * Real KMS blobs are proprietary; this format is documented and versioned (docs/kms-client.md#blob):
 *
 *   blob   = "XSIM" (4) | version=1 (1) | keyUuid (16)                      ← header
 *          | ivLen (1) | iv (12|16) | tag (16) | mdLen (1) | md (0..20) | ctLen (2) | ct (ctLen)
 *   header = the first 21 bytes; bound into both layers through the AAD
 *   aad    = header ‖ canonicalEncryptionContext     (sent to the proxy, opaque to it, never empty)
 *   inner  = iv12 | AES-256-GCM(hbk, plaintext, aad) | tag16               (the proxy's "plaintext")
 *
 * The blob does NOT carry `inner`: that would let KMS decrypt without the proxy and defeat the double
 * envelope. It keeps only the proxy's outputs (iv, tag, metadata, ciphertext); decrypting needs both the
 * proxy and hbk.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

export const BLOB_MAGIC = Buffer.from('XSIM', 'ascii');
export const BLOB_VERSION = 1;
const INNER_IV_LENGTH = 12;
const TAG_LENGTH = 16;

export type EncryptionContext = Readonly<Record<string, string>>;

/** The proxy's Encrypt outputs that KMS keeps in the blob. */
export interface BlobFields {
  keyId: string;
  initializationVector: Buffer;
  authenticationTag: Buffer;
  ciphertextMetadata?: Buffer;
  ciphertext: Buffer;
}

function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function blobHeader(keyId: string): Buffer {
  return Buffer.concat([BLOB_MAGIC, Buffer.from([BLOB_VERSION]), uuidToBytes(keyId)]);
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

/** count (u16) | per pair sorted by UTF-8 key bytes: keyLen (u16) | key | valueLen (u16) | value. */
export function canonicalEncryptionContext(context: EncryptionContext = {}): Buffer {
  const pairs = Object.entries(context)
    .map(([key, value]) => [Buffer.from(key, 'utf8'), Buffer.from(value, 'utf8')] as const)
    .sort(([a], [b]) => Buffer.compare(a, b));
  const parts = [u16(pairs.length)];
  for (const [key, value] of pairs) parts.push(u16(key.length), key, u16(value.length), value);
  return Buffer.concat(parts);
}

/** The AAD for both layers: header ‖ canonical encryption context. */
export function additionalDataFor(keyId: string, context?: EncryptionContext): Buffer {
  return Buffer.concat([blobHeader(keyId), canonicalEncryptionContext(context)]);
}

/** The inner layer, under the KMS key's own material: iv12 | ciphertext | tag16. */
export function sealInner(hbk: Buffer, plaintext: Buffer, aad: Buffer, iv: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', hbk, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]);
}

/** Opens the inner layer; undefined when it does not authenticate. */
export function openInner(hbk: Buffer, inner: Buffer, aad: Buffer): Buffer | undefined {
  if (inner.length < INNER_IV_LENGTH + TAG_LENGTH) return undefined;
  const iv = inner.subarray(0, INNER_IV_LENGTH);
  const tag = inner.subarray(inner.length - TAG_LENGTH);
  const decipher = createDecipheriv('aes-256-gcm', hbk, iv, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(inner.subarray(INNER_IV_LENGTH, inner.length - TAG_LENGTH)), decipher.final()]);
  } catch {
    return undefined;
  }
}

export function serializeBlob(fields: BlobFields): Buffer {
  const metadata = fields.ciphertextMetadata ?? Buffer.alloc(0);
  return Buffer.concat([
    blobHeader(fields.keyId),
    Buffer.from([fields.initializationVector.length]),
    fields.initializationVector,
    fields.authenticationTag,
    Buffer.from([metadata.length]),
    metadata,
    u16(fields.ciphertext.length),
    fields.ciphertext,
  ]);
}

/** Reads a blob; undefined when it is not a well-formed version-1 simulator blob. */
export function parseBlob(blob: Buffer): BlobFields | undefined {
  const reader = new BlobReader(blob);
  const magic = reader.take(BLOB_MAGIC.length);
  const version = reader.byte();
  const keyBytes = reader.take(16);
  if (!magic?.equals(BLOB_MAGIC) || version !== BLOB_VERSION || !keyBytes) return undefined;
  const ivLength = reader.byte();
  if (ivLength !== 12 && ivLength !== 16) return undefined;
  const iv = reader.take(ivLength);
  const tag = reader.take(TAG_LENGTH);
  const metadataLength = reader.byte();
  if (metadataLength === undefined || metadataLength > 20) return undefined;
  const metadata = reader.take(metadataLength);
  const ciphertextLength = reader.u16();
  const ciphertext = ciphertextLength === undefined ? undefined : reader.take(ciphertextLength);
  if (!iv || !tag || !metadata || !ciphertext || !reader.atEnd()) return undefined;
  return {
    keyId: bytesToUuid(keyBytes),
    initializationVector: iv,
    authenticationTag: tag,
    ...(metadata.length > 0 ? { ciphertextMetadata: metadata } : {}),
    ciphertext,
  };
}

/** Sequential reads that return undefined instead of running past the end. */
class BlobReader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}

  take(length: number): Buffer | undefined {
    if (this.offset + length > this.bytes.length) return undefined;
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return Buffer.from(out);
  }

  byte(): number | undefined {
    return this.take(1)?.[0];
  }

  u16(): number | undefined {
    return this.take(2)?.readUInt16BE(0);
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }
}
