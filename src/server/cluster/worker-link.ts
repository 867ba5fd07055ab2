import type { ClusterMember } from './cluster-member.js';
import type { PrimaryRequests, WorkerNotices } from './protocol.js';

/** A worker process's end of the channel to its primary (joinCluster in member.ts makes one). */
export interface WorkerLink {
  /** What the worker's node uses: its index, change announcements, refresh and metrics. */
  member: ClusterMember;
  /** Tells the primary this worker's node listens. */
  ready(info: WorkerNotices['ready']): Promise<void>;
  /** Tells the primary this worker could not start (it exits after this). */
  failed(info: WorkerNotices['failed']): Promise<void>;
  /** Answers the primary's requests of one type (e.g. `banner`). */
  handle<K extends keyof PrimaryRequests>(
    type: K,
    handler: (body: PrimaryRequests[K]['body']) => Promise<PrimaryRequests[K]['reply']>,
  ): void;
  /** Stops listening to the primary. */
  close(): void;
}
