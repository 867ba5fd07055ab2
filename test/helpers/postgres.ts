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

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const adminUrl = process.env.KEYHOLD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const database = `keyhold_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const run = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE "${database}"`);
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`) };
}
