/**
 * Runs `task` for callers that need a run started after they called: while one run is in flight, every
 * new caller waits for the single next run, so a burst of N calls costs two runs, not N. A failed run
 * fails its own callers only; the callers waiting for the next run get that run's result.
 */
export function coalescing(task: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const run = task().finally(() => {
      if (current === run) current = undefined;
    });
    current = run;
    return run;
  };
  return () => {
    if (!current) return start();
    next ??= current
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}
