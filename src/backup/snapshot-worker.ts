/**
 * Worker thread that takes a serving node's backup snapshot on its own database connection (snapshot-thread.ts):
 * better-sqlite3 reads synchronously and the content is serialized and gzipped, so on the node's own thread
 * a backup of 100,000 keys would stall XKS answers for seconds. workerData: SnapshotJob; posts
 * `{ fields, content }` (the content's memory transferred) or `{ error }`, then exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../core/clock.js';
import { openDatabase } from '../storage/open-database.js';
import { createPacer } from './pacer.js';
import { snapshotForBackup } from './service.js';
import type { SnapshotJob } from './snapshot-thread.js';

async function main(job: SnapshotJob): Promise<void> {
  const database = await openDatabase({ databaseUrl: job.databaseUrl, sqlitePath: job.sqlitePath });
  try {
    const snapshot = await snapshotForBackup({
      database,
      nodeId: job.nodeId,
      root: job.rootConfig,
      withAudit: job.withAudit,
      clock: { now: () => job.at },
      // Paced on the real clock: the job's clock only dates the snapshot.
      pacer: createPacer({ share: job.cpuShare, clock: systemClock }),
    });
    // A copy with its own memory (zlib's output may sit in a shared pool, which cannot be transferred).
    const content = new Uint8Array(snapshot.content);
    parentPort?.postMessage({ fields: snapshot.fields, content }, [content.buffer]);
  } finally {
    await database.close();
  }
}

main(workerData as SnapshotJob).catch((error: unknown) => {
  parentPort?.postMessage({ error: error instanceof Error ? error.message : String(error) });
});
