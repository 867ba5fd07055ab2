import { sql } from 'kysely';
import type { DatabaseConnection } from '../storage/connection.js';
import type { LoginAttemptStore } from './login-attempt-store.js';

/** The login_attempts table (migration 0012_login_attempts). */
interface LoginAttemptTables {
  login_attempts: { user_name: string; window_start: number; attempts: number };
}

/** The login attempts on the node's database (SQLite or PostgreSQL: both have INSERT … ON CONFLICT … RETURNING). */
export function createLoginAttemptStore(connection: DatabaseConnection): LoginAttemptStore {
  const db = connection.tables<LoginAttemptTables>();
  return {
    async countAttempt(userName, now, windowMs) {
      const expired = now - windowMs;
      // One statement: the increment and the window reset happen atomically in the database, whichever
      // node runs it (SET expressions read the row as it was before this update, in both dialects).
      const row = await db
        .insertInto('login_attempts')
        .values({ user_name: userName, window_start: now, attempts: 1 })
        .onConflict((conflict) =>
          conflict.column('user_name').doUpdateSet({
            attempts: sql<number>`case when login_attempts.window_start <= ${expired} then 1 else login_attempts.attempts + 1 end`,
            window_start: sql<number>`case when login_attempts.window_start <= ${expired} then ${now} else login_attempts.window_start end`,
          }),
        )
        .returning(['attempts', 'window_start'])
        .executeTakeFirstOrThrow();
      return { attempts: Number(row.attempts), windowStart: Number(row.window_start) };
    },

    async clear(userName) {
      await db.deleteFrom('login_attempts').where('user_name', '=', userName).execute();
    },

    async prune(before) {
      const result = await db.deleteFrom('login_attempts').where('window_start', '<=', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
