import type { Logger } from 'pino';
import { discardAdminEvents, type AdminEvent, type AdminEventSink } from '../audit/admin-events.js';
import type { ScheduledKeyWork, ScheduledWork } from './scheduled-work.js';

export interface RotationScheduler {
  /** One pass: pick up other nodes' changes, then rotate and destroy what is due. Never runs twice at once. */
  readonly tick: () => Promise<ScheduledWork>;
  /** Stops the timer; resolves once a pass in flight has finished (so the store can be closed after it). */
  readonly stop: () => Promise<void>;
}

/**
 * The node's own key work, every `intervalMs` (default one minute): rotates keys whose rotation policy is
 * due and destroys keys whose deletion date has passed (ScheduledKeyWork.runDue, compare-and-set so a fleet does
 * each once), and first refreshes what other nodes may have changed (`refresh`: live keys, kill switch).
 * Each action is recorded as an admin event by the `system` actor `scheduler`.
 */
export function startRotationScheduler(options: {
  keys: ScheduledKeyWork;
  nodeId: string;
  logger: Logger;
  events?: AdminEventSink;
  refresh?: (() => Promise<unknown>)[];
  /** Whether key work can run now (false while the root of trust is sealed: nothing can be created or opened). */
  canWork?: () => boolean;
  intervalMs?: number;
}): RotationScheduler {
  const { keys, nodeId, logger, events = discardAdminEvents, refresh = [] } = options;
  const actor: AdminEvent['actor'] = { kind: 'system', id: nodeId, name: 'scheduler' };
  let running: Promise<ScheduledWork> | undefined;

  async function pass(): Promise<ScheduledWork> {
    for (const step of refresh) await step();
    if (options.canWork && !options.canWork()) return { rotated: [], destroyed: [], failed: [] };
    const work = await keys.runDue();
    for (const r of work.rotated) {
      logger.info({ event: 'key.rotate', key: r.key, version: r.version, by: 'scheduler' }, 'rotated a key by its rotation policy');
      await events.record({ actor, action: 'key.rotate', target: { key: r.key, group: r.group, version: r.version }, outcome: 'success' });
    }
    for (const d of work.destroyed) {
      logger.info({ event: 'key.destroy', key: d.key, by: 'scheduler' }, 'destroyed a key whose deletion date passed');
      await events.record({ actor, action: 'key.destroy', target: { key: d.key, group: d.group }, outcome: 'success' });
    }
    for (const f of work.failed) {
      logger.warn({ event: `key.${f.action}`, key: f.key, reason: f.reason }, 'scheduled key work failed; retried next pass');
      await events.record({
        actor,
        action: `key.${f.action}`,
        target: { key: f.key, group: f.group },
        outcome: 'failure',
        detail: f.reason,
      });
    }
    return work;
  }

  const tick = (): Promise<ScheduledWork> => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => {
    tick().catch((error: unknown) => logger.warn({ err: error }, 'key scheduler pass failed'));
  }, options.intervalMs ?? 60_000);
  timer.unref();
  return {
    tick,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
