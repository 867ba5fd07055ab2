import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the CPU priority of every thread this process has, and so of every thread it starts later (a new
 * thread inherits its creator's). Linux keeps a nice value per thread: `os.setPriority(19)` alone changes only
 * the calling thread, while V8's platform threads — which run the garbage collector's concurrent marking,
 * heavy for a backup's hundreds of MB of rows — started with the process and kept priority 0 (measured:
 * docs/backup.md#pacing). Elsewhere, or without /proc, only the calling thread changes.
 */
export function lowerPriorityOfAllThreads(nice = 19): void {
  setPriority(nice);
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return;
  }
  for (const thread of threads) {
    try {
      setPriority(Number(thread), nice);
    } catch {
      // The thread ended between the listing and here.
    }
  }
}
