import { readFileSync, statSync } from 'node:fs';
import type { Pkcs11RootConfig } from '../root-config.js';

export const PIN_ENV = 'KEYHOLD_PKCS11_PIN';

/** The token's user PIN: from `pinFile` (owner-only) or $KEYHOLD_PKCS11_PIN. Never logged, never in root.json. */
export function readPin(config: Pick<Pkcs11RootConfig, 'pinFile'>, env: NodeJS.ProcessEnv = process.env): string {
  if (config.pinFile) {
    const mode = statSync(config.pinFile).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(`PIN file ${config.pinFile} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${config.pinFile}`);
    }
    const pin = readFileSync(config.pinFile, 'utf8').trim();
    if (pin.length === 0) throw new Error(`PIN file ${config.pinFile} is empty`);
    return pin;
  }
  const pin = env[PIN_ENV];
  if (!pin) throw new Error(`the PKCS#11 PIN is missing: give a PIN file or set ${PIN_ENV}`);
  return pin;
}
