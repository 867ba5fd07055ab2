import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';

export const MASTER_KEY_LENGTH = 32;

/** Creates a new key file (master key, or the Shamir mode's credential key) readable only by its owner; refuses to overwrite one. */
export function createMasterKeyFile(path: string): void {
  writeFileSync(path, randomBytes(MASTER_KEY_LENGTH).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
}

/** Loads the master key, refusing a file that others can read. */
export function readMasterKeyFile(path: string, label = 'master key file'): Buffer {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`${label} ${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== MASTER_KEY_LENGTH) throw new Error(`${label} ${path} does not hold a 256-bit key`);
  return key;
}
