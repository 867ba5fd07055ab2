/**
 * A scratch PostgreSQL database on the server CI provides (KEYHOLD_TEST_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). Unreachable PostgreSQL fails the test, never skips it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

const adminUrl = process.env.KEYHOLD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs one statement as the server's administrator, on its own connection. */
async function run(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const database = `keyhold_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  await run(`CREATE DATABASE "${database}"`);
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`) };
}

/** Takes a scratch database away from every client (`begin`: new connections refused, open ones cut), and gives it back (`end`). */
export function databaseOutage(url: string): { begin(): Promise<void>; end(): Promise<void> } {
  const name = new URL(url).pathname.slice(1);
  return {
    async begin() {
      await run(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await run(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
    },
    end: () => run(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`),
  };
}

/**
 * Holds an EXCLUSIVE lock on one table of a scratch database (reads go on, writes wait) until `release`:
 * a commit that stalls for as long as a test needs, with nothing in the node changed. `writerWaiting`
 * resolves once some other session is blocked writing to the table (its commit has started).
 */
export async function lockTable(url: string, table: string): Promise<{ release(): Promise<void>; writerWaiting(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${client.escapeIdentifier(table)} IN EXCLUSIVE MODE`);
  return {
    async writerWaiting() {
      for (;;) {
        const { rows } = await client.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = $1::regclass',
          [table],
        );
        if ((rows[0]?.n ?? 0) > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async release() {
      try {
        await client.query('ROLLBACK');
      } finally {
        await client.end();
      }
    },
  };
}
