import type { DatabaseConnection } from '../storage/connection.js';
import type { KillSwitchState } from './kill-switch.js';
import type { KillSwitchStore } from './kill-switch-store.js';

interface SettingsTables {
  settings: { name: string; /** JSON. */ value: string; updated_at: number };
}

const SETTING = 'kill_switch';

/** The stored JSON as a state; anything else (never written by this store) reads as off. */
function parseState(text: string): KillSwitchState {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || !('on' in value) || typeof value.on !== 'boolean') return { on: false };
  const reason = 'reason' in value && typeof value.reason === 'string' ? value.reason : undefined;
  const since = 'since' in value && typeof value.since === 'string' ? value.since : undefined;
  return { on: value.on, ...(reason === undefined ? {} : { reason }), ...(since === undefined ? {} : { since }) };
}

/** The kill switch store on the node's database. */
export function createKillSwitchStore(connection: DatabaseConnection): KillSwitchStore {
  const db = connection.tables<SettingsTables>();
  return {
    async read() {
      const row = await db.selectFrom('settings').select('value').where('name', '=', SETTING).executeTakeFirst();
      return row && parseState(row.value);
    },
    async write(state, at) {
      const row = { name: SETTING, value: JSON.stringify(state), updated_at: at };
      await db
        .insertInto('settings')
        .values(row)
        .onConflict((oc) => oc.column('name').doUpdateSet({ value: row.value, updated_at: row.updated_at }))
        .execute();
    },
  };
}
