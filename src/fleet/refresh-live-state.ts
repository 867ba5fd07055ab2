import { coalescing } from '../core/coalescing.js';

/** What the refresh re-reads from the database into this node's live state. */
export interface LiveStateSources {
  /** Whether keys can be opened now (false while the root of trust is sealed). */
  serving(): boolean;
  /** Keys changed since the last sync (only while serving: a sealed root opens none). */
  keys: { syncLive(): Promise<void> };
  /** Every keystore with its status, quota and credentials. */
  keystores: { loadAll(): Promise<void> };
  /** The node-wide kill switch. */
  killSwitch: { refresh(): Promise<unknown> };
  /** Compiled policies. */
  policies: { loadAll(): Promise<void> };
}

/**
 * Applies what other nodes (or other workers of this node) changed in the database to this node's live
 * state. Safe to call from anywhere at any time: calls made while a refresh runs share the single next
 * one, so each caller still gets a refresh that started after it asked.
 */
export type RefreshLiveState = () => Promise<void>;

/**
 * The one list of what "apply other nodes' changes" re-reads, in order: keys (while serving), keystores
 * with their credentials, the kill switch, policies. Callers: the scheduler's pass, a worker told by its
 * primary that another worker changed something, and the change follower (change-follower.ts) when the
 * fleet's change sequence has a change this node has not applied.
 * A failing step fails the refresh and skips the steps after it; the next refresh tries them all again.
 */
export function createLiveStateRefresh(sources: LiveStateSources): RefreshLiveState {
  return coalescing(async () => {
    if (sources.serving()) await sources.keys.syncLive();
    await sources.keystores.loadAll();
    await sources.killSwitch.refresh();
    await sources.policies.loadAll();
  });
}
