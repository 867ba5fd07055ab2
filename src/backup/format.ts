import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { BackupError } from './backup-error.js';

/**
 * The backup file (docs/backup.md#file-format):
 *
 *   line 1  `KEYHOLD-BACKUP`
 *   line 2  the manifest (JSON): readable without the passphrase, and the AAD of the encryption, so
 *           changing any of it fails decryption
 *   line 3  the content's length and SHA-256 (JSON), so `backup verify` detects truncation or damage
 *           without the passphrase
 *   rest    the content (gzipped JSON of every table), AES-256-GCM encrypted as a whole, tag last
 *
 * The key comes from the operator's passphrase through scrypt (salt and cost in the manifest); a second
 * scrypt output half checks the passphrase, so a wrong one is told apart from an altered file.
 */
export const BACKUP_FORMAT = 1;
const MAGIC = 'KEYHOLD-BACKUP';
const SCRYPT = { N: 2 ** 15, r: 8, p: 1 };
const SCRYPT_MAXMEM = 128 * 1024 * 1024;
const PASSPHRASE_CHECK = 'keyhold-backup passphrase check';
const TAG_LENGTH = 16;
const MIN_PASSPHRASE = 8;

const scryptAsync = promisify(scrypt) as (
  password: Buffer,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

export interface BackupManifest {
  format: number;
  keyholdVersion: string;
  /** The node id of the data directory backed up. */
  node: string;
  /** ISO 8601 time of the snapshot. */
  createdAt: string;
  /** The database it was taken from. */
  dialect: 'sqlite' | 'postgres';
  /** The last migration applied to that database: the schema the content follows. */
  schema: string;
  /** The kind of root of trust the key material is wrapped under (master-key-file, shamir, pkcs11/keys, pkcs11/wrap). */
  root: string;
  /** Whether the whole audit log is inside (else each chain from its latest signed checkpoint on). */
  withAudit: boolean;
  /** Rows per table. */
  counts: Record<string, number>;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string; check: string };
  cipher: { name: 'aes-256-gcm'; iv: string };
}

/** What line 3 says of the encrypted content. */
interface ContentSeal {
  bytes: number;
  sha256: string;
}

export type ManifestFields = Omit<BackupManifest, 'format' | 'kdf' | 'cipher'>;

async function deriveKeys(passphrase: Buffer, salt: Buffer, kdf: { N: number; r: number; p: number }) {
  const out = await scryptAsync(passphrase, salt, 64, { ...kdf, maxmem: SCRYPT_MAXMEM });
  const check = createHmac('sha256', out.subarray(32)).update(PASSPHRASE_CHECK).digest();
  return { key: out.subarray(0, 32), check };
}

export function checkPassphraseStrength(passphrase: Buffer): void {
  if (passphrase.length < MIN_PASSPHRASE) throw new BackupError(`the passphrase is too short (at least ${MIN_PASSPHRASE} characters)`);
}

/** Encrypts `content` and lays out the file. */
export async function sealBackup(fields: ManifestFields, content: Buffer, passphrase: Buffer): Promise<Buffer> {
  checkPassphraseStrength(passphrase);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const { key, check } = await deriveKeys(passphrase, salt, SCRYPT);
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    ...fields,
    kdf: { name: 'scrypt', ...SCRYPT, salt: salt.toString('base64'), check: check.toString('base64') },
    cipher: { name: 'aes-256-gcm', iv: iv.toString('base64') },
  };
  const manifestLine = Buffer.from(JSON.stringify(manifest), 'utf8');
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(manifestLine);
  const encrypted = Buffer.concat([cipher.update(content), cipher.final(), cipher.getAuthTag()]);
  key.fill(0);
  const seal: ContentSeal = { bytes: encrypted.length, sha256: createHash('sha256').update(encrypted).digest('hex') };
  return Buffer.concat([Buffer.from(`${MAGIC}\n`), manifestLine, Buffer.from(`\n${JSON.stringify(seal)}\n`), encrypted]);
}

export interface OpenedFile {
  manifest: BackupManifest;
  manifestLine: Buffer;
  encrypted: Buffer;
}

/**
 * Reads the manifest and checks the content against line 3 (length, SHA-256): no passphrase needed.
 * Refuses a format newer than this version reads.
 */
export function readBackupFile(file: Buffer): OpenedFile {
  const firstEnd = file.indexOf(0x0a);
  if (firstEnd < 0 || file.subarray(0, firstEnd).toString('latin1') !== MAGIC) throw new BackupError('not a Keyhold backup file');
  const secondEnd = file.indexOf(0x0a, firstEnd + 1);
  const thirdEnd = secondEnd < 0 ? -1 : file.indexOf(0x0a, secondEnd + 1);
  if (thirdEnd < 0) throw new BackupError('the backup file is truncated (it ends inside the manifest)');
  const manifestLine = file.subarray(firstEnd + 1, secondEnd);
  const manifest = parseManifest(manifestLine);
  const seal = parseSeal(file.subarray(secondEnd + 1, thirdEnd));
  const encrypted = file.subarray(thirdEnd + 1);
  if (encrypted.length < seal.bytes) {
    throw new BackupError(`the backup file is truncated (${encrypted.length} of ${seal.bytes} content bytes)`);
  }
  if (encrypted.length > seal.bytes) throw new BackupError('the backup file has bytes after its content (altered)');
  const digest = createHash('sha256').update(encrypted).digest('hex');
  if (!timingSafeEqual(Buffer.from(digest), Buffer.from(seal.sha256.padEnd(digest.length).slice(0, digest.length)))) {
    throw new BackupError("the backup file is damaged or altered: its content does not match the manifest's SHA-256");
  }
  return { manifest, manifestLine, encrypted };
}

/** Decrypts the content: tells a wrong passphrase from an altered manifest or content. */
export async function openBackup(opened: OpenedFile, passphrase: Buffer): Promise<Buffer> {
  const { manifest, manifestLine, encrypted } = opened;
  const salt = Buffer.from(manifest.kdf.salt, 'base64');
  const { key, check } = await deriveKeys(passphrase, salt, manifest.kdf);
  const expected = Buffer.from(manifest.kdf.check, 'base64');
  if (expected.length !== check.length || !timingSafeEqual(expected, check)) {
    key.fill(0);
    throw new BackupError('wrong passphrase for this backup');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(manifest.cipher.iv, 'base64'));
    decipher.setAAD(manifestLine);
    decipher.setAuthTag(encrypted.subarray(encrypted.length - TAG_LENGTH));
    return Buffer.concat([decipher.update(encrypted.subarray(0, encrypted.length - TAG_LENGTH)), decipher.final()]);
  } catch {
    throw new BackupError('the backup file was altered: it does not authenticate under its passphrase');
  } finally {
    key.fill(0);
  }
}

function parseManifest(line: Buffer): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    throw new BackupError('the backup manifest is damaged (not JSON)');
  }
  const format = typeof value === 'object' && value !== null && 'format' in value ? value.format : undefined;
  if (typeof format === 'number' && format > BACKUP_FORMAT) {
    throw new BackupError(
      `the backup is in format ${format}, newer than this Keyhold reads (${BACKUP_FORMAT}); restore it with a newer Keyhold`,
    );
  }
  if (format !== BACKUP_FORMAT) throw new BackupError(`the backup manifest is damaged (unknown format ${String(format)})`);
  if (!isManifest(value)) throw new BackupError('the backup manifest is damaged (fields missing)');
  return value;
}

function isManifest(value: unknown): value is BackupManifest {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  const kdf = (typeof m.kdf === 'object' ? m.kdf : null) as Record<string, unknown> | null;
  const cipher = (typeof m.cipher === 'object' ? m.cipher : null) as Record<string, unknown> | null;
  return (
    typeof m.format === 'number' &&
    typeof m.node === 'string' &&
    typeof m.createdAt === 'string' &&
    typeof m.counts === 'object' &&
    m.counts !== null &&
    kdf !== null &&
    kdf.name === 'scrypt' &&
    [kdf.N, kdf.r, kdf.p].every((n) => typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 2 ** 20) &&
    typeof kdf.salt === 'string' &&
    typeof kdf.check === 'string' &&
    cipher !== null &&
    cipher.name === 'aes-256-gcm' &&
    typeof cipher.iv === 'string'
  );
}

function parseSeal(line: Buffer): ContentSeal {
  try {
    const value = JSON.parse(line.toString('utf8')) as Partial<ContentSeal>;
    if (typeof value.bytes === 'number' && typeof value.sha256 === 'string') return { bytes: value.bytes, sha256: value.sha256 };
  } catch {
    // reported below
  }
  throw new BackupError('the backup file is damaged (its content line is not readable)');
}
