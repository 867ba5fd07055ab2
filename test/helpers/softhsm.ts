/**
 * Real SoftHSMv2 tokens for tests. SoftHSM reads SOFTHSM2_CONF when the library initializes, and the
 * library is process-wide, so one test process gets one token directory (made on first use) and each
 * test its own token in it, under a unique label.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pkcs11RootConfig } from '../../src/roots/root-config.js';

export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

let tokenDir: string | undefined;
let baseDir: string | undefined;

function softHsmDir(): { base: string; tokens: string } {
  if (!baseDir || !tokenDir) {
    baseDir = mkdtempSync(join(tmpdir(), 'keyhold-softhsm-'));
    tokenDir = join(baseDir, 'tokens');
    mkdirSync(tokenDir, { mode: 0o700 });
    const conf = join(baseDir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
    // Set before any PKCS#11 library initializes in this process (workers inherit it).
    process.env.SOFTHSM2_CONF = conf;
  }
  return { base: baseDir, tokens: tokenDir };
}

export interface SoftHsmToken {
  label: string;
  pin: string;
  /** An owner-only file holding the PIN. */
  pinFile: string;
  library: string;
  /** root.json content for this token (without masterKeyId). */
  rootConfig(mode: 'keys' | 'wrap'): Pkcs11RootConfig;
  /** Runs pkcs11-tool against this token; returns stdout, throws on a non-zero exit. */
  pkcs11Tool(args: string[]): string;
  /** Takes every token of this process away (as if the HSM were unplugged), and puts it back. */
  unplug(): void;
  plugBack(): void;
}

export function createSoftHsmToken(): SoftHsmToken {
  const { base, tokens } = softHsmDir();
  const label = `kh-${randomBytes(4).toString('hex')}`;
  const pin = randomBytes(6).toString('hex');
  const soPin = randomBytes(6).toString('hex');
  const env = { ...process.env, SOFTHSM2_CONF: process.env.SOFTHSM2_CONF };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], { env, stdio: 'pipe' });
  const pinFile = join(base, `${label}.pin`);
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  const away = `${tokens}.away`;
  return {
    label,
    pin,
    pinFile,
    library: SOFTHSM_LIBRARY,
    rootConfig: (mode) => ({ kind: 'pkcs11', mode, library: SOFTHSM_LIBRARY, tokenLabel: label, pinFile }),
    pkcs11Tool: (args) =>
      execFileSync('pkcs11-tool', ['--module', SOFTHSM_LIBRARY, '--token-label', label, '--login', '--pin', pin, ...args], {
        env,
        stdio: 'pipe',
        encoding: 'utf8',
        timeout: 10_000,
      }),
    unplug: () => renameSync(tokens, away),
    plugBack: () => {
      if (existsSync(away)) renameSync(away, tokens);
    },
  };
}

/** Removes this process's token directory (call from an `after` hook). */
export function removeSoftHsmTokens(): void {
  if (baseDir) rmSync(baseDir, { recursive: true, force: true });
}
