import type { KillSwitchState } from './kill-switch.js';

/** Where the kill switch keeps its state: one row of the node-wide `settings` table (migration 0002); implementation: sql-kill-switch-store.ts. */
export interface KillSwitchStore {
  /** The stored state; undefined when the switch was never set. */
  read(): Promise<KillSwitchState | undefined>;
  write(state: KillSwitchState, at: number): Promise<void>;
}
