import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isJsonObject, parseJson } from '../core/json.js';

/**
 * `keyhold login` keeps its token in $KEYHOLD_CONFIG_DIR, else $XDG_CONFIG_HOME/keyhold, else
 * ~/.config/keyhold: file `token.json` (mode 0600) with the admin URL it belongs to, so a token is
 * only ever sent to the node that issued it.
 */
export function loginTokenPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.KEYHOLD_CONFIG_DIR ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'keyhold');
  return join(dir, 'token.json');
}

export interface SavedLogin {
  url: string;
  user: string;
  token: string;
  expiresAt: string;
}

export function saveLoginToken(login: SavedLogin, env: NodeJS.ProcessEnv = process.env): string {
  const path = loginTokenPath(env);
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(login, null, 2) + '\n', { mode: 0o600 });
  return path;
}

/** The saved token for this admin URL, unless it has expired. */
export function readLoginToken(url: string, env: NodeJS.ProcessEnv = process.env, now = Date.now()): string | undefined {
  const path = loginTokenPath(env);
  if (!existsSync(path)) return undefined;
  try {
    const saved = parseJson(readFileSync(path, 'utf8'));
    if (!isJsonObject(saved) || typeof saved.token !== 'string' || typeof saved.expiresAt !== 'string') return undefined;
    if (saved.url !== url || !(Date.parse(saved.expiresAt) > now)) return undefined;
    return saved.token;
  } catch {
    return undefined;
  }
}

export function forgetLoginToken(env: NodeJS.ProcessEnv = process.env): boolean {
  const path = loginTokenPath(env);
  if (!existsSync(path)) return false;
  rmSync(path);
  return true;
}
