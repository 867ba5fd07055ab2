import type { Clock } from '../core/clock.js';
import type { KeyMaterial } from './key-material.js';
import type { KeyStore } from './key-store.js';

/** What the node did by itself in one scheduler pass (see rotation-scheduler.ts). */
export interface ScheduledWork {
  rotated: { key: string; group: string; version: number }[];
  destroyed: { key: string; group: string }[];
  failed: { key: string; group: string; action: string; reason: string }[];
}

/** The key work no operator starts: rotation by policy and destruction after the waiting period. */
export interface ScheduledKeyWork {
  /**
   * One pass of the node's own work (rotation-scheduler.ts): rotates ENABLED keys whose rotation is due and
   * destroys keys whose deletion date has passed. Every change is compare-and-set, so nodes of a fleet
   * running it at once rotate or destroy each key once. A key that fails is reported and retried next pass.
   */
  readonly runDue: () => Promise<ScheduledWork>;
}

export function createScheduledKeyWork({
  keyStore,
  clock,
  material,
}: {
  keyStore: KeyStore;
  clock: Clock;
  material: KeyMaterial;
}): ScheduledKeyWork {
  return {
    async runDue() {
      const work: ScheduledWork = { rotated: [], destroyed: [], failed: [] };
      const now = clock.now();
      for (const record of await keyStore.listKeysDue(now)) {
        const group = record.groupId;
        try {
          if (record.status === 'ENABLED') {
            const rotated = await material.addVersion(record);
            if (rotated) work.rotated.push({ key: record.externalId, group, version: rotated.currentVersion });
          } else if (record.status === 'PENDING_DELETION') {
            const claimed = await keyStore.updateKey(record.id, { status: 'DESTROYED' }, now, {
              status: ['PENDING_DELETION'],
              deletionDueBy: now,
            });
            if (!claimed) continue;
            await material.eraseAllVersions({ ...record, status: 'DESTROYED', updatedAt: now });
            work.destroyed.push({ key: record.externalId, group });
          } else if (record.status === 'DESTROYED') {
            await material.eraseAllVersions(record);
          }
        } catch (error) {
          work.failed.push({
            key: record.externalId,
            group,
            action: record.status === 'ENABLED' ? 'rotate' : 'destroy',
            reason: error instanceof Error ? error.message : String(error),
          });
        }
      }
      return work;
    },
  };
}
