/** dist/ must match src/: the CLI under test (bin/keyhold.js) runs the compiled code. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'keyhold.js');

function distIsStale(): boolean {
  const src = join(ROOT, 'src');
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'cli', 'main.js'))) return true;
  // Any source file newer than its compiled counterpart (or without one) means dist/ is stale.
  const stale = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return stale(path);
      if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) return false;
      const compiled = join(dist, relative(src, path)).replace(/\.ts$/, '.js');
      return !existsSync(compiled) || statSync(compiled).mtimeMs < statSync(path).mtimeMs;
    });
  return stale(src);
}

/** Rebuilds dist/ when src/ changed since the last build (one builder at a time across test files). */
export function ensureBuilt(): void {
  if (!distIsStale()) return;
  const lock = join(tmpdir(), `keyhold-dist-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left behind by a crashed run is stale after five minutes (a build takes seconds).
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 300_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`could not take ${lock} within 120 s; remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    if (!distIsStale()) return;
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    // tsc still emits on type errors; report them but test what was built.
    if (result.status !== 0)
      process.stderr.write(`test/cli: tsc reported errors while rebuilding dist/:\n${result.stdout}${result.stderr}\n`);
  } finally {
    rmdirSync(lock);
  }
}
