import type { Logger } from 'pino';
import { coalescing } from '../core/coalescing.js';
import type { Clock } from '../core/clock.js';
import type { ChangeStore } from './change-store.js';
import type { RefreshLiveState } from './refresh-live-state.js';

/** Kinds of change the live state holds; the others (users, tokens, approvals) are read from the database on use. */
const LIVE_KINDS: ReadonlySet<string> = new Set(['key', 'keystore', 'group', 'setting', 'policy']);
/** Changes read per query while catching up. */
const PAGE = 1_000;
/** Changes are kept this long in the sequence, then pruned (the newest always stays). */
const RETENTION_MS = 24 * 3_600_000;

/** How this node hears of other nodes' changes. */
export type PropagationMode = 'listen' | 'poll';

export interface PropagationStatus {
  /** `listen`: PostgreSQL notifications with a slow safety poll; `poll`: no listener (SQLite). */
  mode: PropagationMode;
  /** Whether the LISTEN connection is up (always false in poll mode). */
  listening: boolean;
  /** How often the node reads the sequence now (fast while the listener is down). */
  pollMs: number;
  /** The newest change this node has applied. */
  appliedId: number;
  /** The newest change id this node has read from the database. */
  latestId: number;
  /** Time from the last applied change's commit to this node applying it (ms); undefined before the first. */
  lastLagMs?: number;
  /** When the sequence was last read successfully (epoch ms). */
  lastReadAt?: number;
}

/** A source of change notifications: the PostgreSQL LISTEN connection (src/storage/pg-listener.ts). */
export interface ChangeNotifier {
  listening(): boolean;
  close(): Promise<void>;
}

export interface ChangeFollower {
  status(): PropagationStatus;
  /** Reads the sequence after the last applied change and applies what it finds (coalesced). */
  catchUp(): Promise<void>;
  /** For the notifier's handlers: a notification arrived, the connection came back, or went away. */
  notified(): void;
  listenerUp(): void;
  listenerDown(reason: string): void;
  stop(): Promise<void>;
}

export interface ChangeFollowerOptions {
  changes: ChangeStore;
  /** The one refreshLiveState (src/fleet/refresh-live-state.ts). */
  refresh: RefreshLiveState;
  clock: Clock;
  logger: Logger;
  /** The sequence id read before the live state was loaded: everything after it is applied. */
  startAfterId: number;
  /** Opens the notifier (undefined: poll mode). Called once, with this follower's handlers. */
  openNotifier?: (follower: Pick<ChangeFollower, 'notified' | 'listenerUp' | 'listenerDown'>) => ChangeNotifier;
  /** Poll interval while the listener is up (a safety net for a lost notification), default 2 s. */
  safetyPollMs?: number;
  /** Poll interval while the listener is down, and in poll mode, default 250 ms. */
  fastPollMs?: number;
  /** Called for each batch applied, with the lag of its newest change (for metrics). */
  onApplied?: (lagMs: number, changes: number) => void;
}

/**
 * Follows the fleet's change sequence (docs/fleet.md#propagation): on every notification, on the
 * listener's return, and at each poll, it reads the changes after the last one applied; when any touches
 * the live state it runs the one refreshLiveState, then records the newest id as applied. A failed read
 * or refresh leaves the applied id where it was, so the next attempt reads the same changes again.
 */
export function startChangeFollower(options: ChangeFollowerOptions): ChangeFollower {
  const { changes, refresh, clock, logger } = options;
  const safetyPollMs = options.safetyPollMs ?? 2_000;
  const fastPollMs = options.fastPollMs ?? 250;
  let appliedId = options.startAfterId;
  let latestId = appliedId;
  let lastLagMs: number | undefined;
  let lastReadAt: number | undefined;
  let lastPruneAt = clock.now();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const catchUp = coalescing(async () => {
    for (;;) {
      const batch = await changes.changesAfter(appliedId, PAGE);
      lastReadAt = clock.now();
      const newest = batch.at(-1);
      if (!newest) return;
      latestId = Math.max(latestId, newest.id);
      if (batch.some((change) => LIVE_KINDS.has(change.kind))) await refresh();
      appliedId = newest.id;
      lastLagMs = Math.max(0, clock.now() - newest.at);
      options.onApplied?.(lastLagMs, batch.length);
      if (batch.length < PAGE) return;
    }
  });

  const attempt = () => {
    catchUp().catch((error: unknown) => logger.warn({ err: error, event: 'fleet.catch_up_failed' }, 'reading the change sequence failed'));
  };

  /** Opened once the follower exists (its handlers are the follower's own methods). */
  const opened: { notifier?: ChangeNotifier } = {};
  const pollMs = () => (opened.notifier?.listening() ? safetyPollMs : fastPollMs);
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      attempt();
      if (clock.now() - lastPruneAt > RETENTION_MS / 24) {
        lastPruneAt = clock.now();
        changes.prune(clock.now() - RETENTION_MS).catch(() => undefined);
      }
      schedule();
    }, pollMs());
    timer.unref();
  };

  const follower: ChangeFollower = {
    status: () => ({
      mode: opened.notifier ? 'listen' : 'poll',
      listening: opened.notifier?.listening() ?? false,
      pollMs: pollMs(),
      appliedId,
      latestId,
      lastLagMs,
      lastReadAt,
    }),
    catchUp,
    notified: attempt,
    listenerUp() {
      logger.info({ event: 'fleet.listener_up' }, 'listening for fleet changes; catching up from the change sequence');
      // Notifications sent while it was down are lost: the sequence has them.
      attempt();
      if (timer) clearTimeout(timer);
      schedule();
    },
    listenerDown(reason) {
      logger.warn({ event: 'fleet.listener_down', reason }, `fleet change listener down, polling every ${fastPollMs} ms`);
      if (timer) clearTimeout(timer);
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await opened.notifier?.close();
    },
  };
  opened.notifier = options.openNotifier?.(follower);
  attempt();
  schedule();
  return follower;
}
