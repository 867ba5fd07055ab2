/** The most worker processes `serve --workers` starts (a guard against typos such as 400 for 4). */
export const MAX_WORKERS = 64;

/**
 * Reads `--workers` / `$KEYHOLD_WORKERS`: a whole number from 1 to MAX_WORKERS, or `auto` for one worker
 * per core the platform offers (`os.availableParallelism()`). Throws with a one-line reason otherwise.
 */
export function parseWorkers(value: string, availableParallelism: () => number): number {
  const text = value.trim();
  if (text === 'auto') return Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));
  const count = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    throw new Error(`must be a whole number of worker processes from 1 to ${MAX_WORKERS}, or auto (got "${value}")`);
  }
  return count;
}
