import { readFileSync } from 'node:fs';

/** The package version, read once from package.json. */
export const KEYHOLD_VERSION: string = packageVersion(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')));

function packageVersion(manifest: unknown): string {
  if (typeof manifest === 'object' && manifest !== null && 'version' in manifest && typeof manifest.version === 'string') {
    return manifest.version;
  }
  throw new Error('package.json has no version');
}
