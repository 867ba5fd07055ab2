import type { Clock } from '../core/clock.js';
import { validateReason } from '../keys/attributes.js';
import { XksError } from '../xks/errors.js';
import type { KillSwitch, KillSwitchState } from './kill-switch.js';
import type { KillSwitchStore } from './kill-switch-store.js';

/** The kill switch (kill-switch.ts) over its row of the settings table. */
export function createKillSwitch({ store, clock }: { store: KillSwitchStore; clock: Clock }): KillSwitch {
  let state: KillSwitchState = { on: false };

  async function write(next: KillSwitchState): Promise<KillSwitchState> {
    await store.write(next, clock.now());
    state = next;
    return state;
  }

  return {
    async refresh() {
      state = (await store.read()) ?? { on: false };
      return state;
    },

    status: () => state,

    engage(input) {
      const reason = validateReason(input.reason);
      return write({ on: true, reason, since: new Date(clock.now()).toISOString() });
    },

    release() {
      return write({ on: false, since: new Date(clock.now()).toISOString() });
    },

    gate: () =>
      state.on
        ? new XksError(
            'InvalidStateException',
            'The external key manager has stopped all cryptographic operations',
            `node kill switch: ${state.reason ?? ''}`,
          )
        : undefined,
  };
}
