import { Worker } from 'node:worker_threads';
import type { RootConfig } from '../roots/root-config.js';
import type { BackupSnapshot } from './service.js';

/** What the snapshot thread needs: where the database is, and what the manifest says. Nothing secret. */
export interface SnapshotJob {
  sqlitePath: string;
  databaseUrl?: string;
  nodeId: string;
  rootConfig: RootConfig;
  withAudit: boolean;
  /** The snapshot's time (the node's clock). */
  at: number;
  /** The share of one core the snapshot may use on average (pacer.ts): the node's own event loop shares the machine. */
  cpuShare: number;
}

/**
 * Takes a backup snapshot in a worker thread with its own connection (snapshot-worker.ts), so the serving
 * node's event loop carries neither the database read nor the encoding. On SQLite (WAL) its read transaction
 * sees the database as of its first read and never blocks the node's writers.
 */
export function snapshotInThread(job: SnapshotJob): Promise<BackupSnapshot> {
  // Compiled, the worker is .js beside this module; under tsx (tests, bench) it is .ts and needs the loader too.
  const typescript = import.meta.url.endsWith('.ts');
  const script = new URL(`./snapshot-worker${typescript ? '.ts' : '.js'}`, import.meta.url);
  const worker = typescript
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); });`,
        { eval: true, workerData: job },
      )
    : new Worker(script, { workerData: job });
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.once('message', (message: { fields: BackupSnapshot['fields']; content: Uint8Array } | { error: string }) => {
      settled = true;
      if ('error' in message) reject(new Error(`the backup snapshot failed: ${message.error}`));
      else
        resolve({
          fields: message.fields,
          content: Buffer.from(message.content.buffer, message.content.byteOffset, message.content.byteLength),
        });
    });
    worker.once('error', (error) => {
      if (!settled) reject(error);
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the backup snapshot thread exited with ${code} before answering`));
      settled = true;
    });
  });
}
