import type { Clock } from '../core/clock.js';
import { validateReason } from '../keys/attributes.js';
import type { Store } from '../storage/store.js';
import { XksError } from '../xks/errors.js';
import type { XksGate } from '../xks/pipeline-ports.js';

/**
 * The node-wide kill switch: while on, every XKS key operation of every keystore answers
 * InvalidStateException (health still answers, so KMS sees the proxy up but refusing).
 * It lives in the `settings` table, so it survives a restart and reaches every node of a fleet
 * (each re-reads it on its scheduler tick, `refresh()`); the node that flips it obeys on the next request.
 */
export interface KillSwitchState {
  on: boolean;
  reason?: string;
  since?: string;
}

interface SettingRow {
  name: string;
  value: string;
  updated_at: number;
}

const SETTING = 'kill_switch';

export function createKillSwitch({ store, clock }: { store: Store; clock: Clock }) {
  const db = store.db.withTables<{ settings: SettingRow }>();
  let state: KillSwitchState = { on: false };

  async function write(next: KillSwitchState): Promise<KillSwitchState> {
    const row = { name: SETTING, value: JSON.stringify(next), updated_at: clock.now() };
    await db
      .insertInto('settings')
      .values(row)
      .onConflict((oc) => oc.column('name').doUpdateSet({ value: row.value, updated_at: row.updated_at }))
      .execute();
    state = next;
    return state;
  }

  return {
    /** Reads the switch from the database (node start, and each scheduler tick for changes other nodes made). */
    async refresh(): Promise<KillSwitchState> {
      const row = await db.selectFrom('settings').select('value').where('name', '=', SETTING).executeTakeFirst();
      state = row ? (JSON.parse(row.value) as KillSwitchState) : { on: false };
      return state;
    },

    status: (): KillSwitchState => state,

    /** Turns it on, with the reason operators will see. Plain parameters, so an approval can replay it. */
    engage(input: { reason: string }): Promise<KillSwitchState> {
      const reason = validateReason(input.reason);
      return write({ on: true, reason, since: new Date(clock.now()).toISOString() });
    },

    release(): Promise<KillSwitchState> {
      return write({ on: false, since: new Date(clock.now()).toISOString() });
    },

    /** The XKS gate: no key is touched while the switch is on. */
    gate: ((): XksGate => () =>
      state.on
        ? new XksError(
            'InvalidStateException',
            'The external key manager has stopped all cryptographic operations',
            `node kill switch: ${state.reason ?? ''}`,
          )
        : undefined)(),
  };
}

export type KillSwitch = ReturnType<typeof createKillSwitch>;
