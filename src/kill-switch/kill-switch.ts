import type { XksGate } from '../xks/pipeline-ports.js';

/**
 * The node-wide kill switch: while on, every XKS key operation of every keystore answers
 * InvalidStateException (health still answers, so KMS sees the proxy up but refusing).
 * It lives in the database (sql-kill-switch-store.ts), so it survives a restart and reaches every node of a
 * fleet (each re-reads it, `refresh()`, as soon as the change sequence shows the change, docs/fleet.md#propagation); the node that flips it obeys on the next
 * request. One implementation, createKillSwitch (create-kill-switch.ts).
 */
export interface KillSwitch {
  /**
   * Reads the switch from the database (node start, and each scheduler tick for changes other nodes made).
   * A plain function, so the scheduler can be handed it.
   */
  readonly refresh: () => Promise<KillSwitchState>;
  /** The state this node obeys now (as of its last write or refresh). */
  status(): KillSwitchState;
  /** Turns it on, with the reason operators will see. Plain parameters, so an approval can replay it. */
  engage(input: { reason: string }): Promise<KillSwitchState>;
  release(): Promise<KillSwitchState>;
  /** The XKS gate: no key is touched while the switch is on. */
  readonly gate: XksGate;
}

export interface KillSwitchState {
  on: boolean;
  reason?: string;
  /** When it was last turned on or off (ISO 8601). */
  since?: string;
}
