/** What the fleet scripts (fleet-drill.ts, fleet-propagation.ts) share: the CLI they start, the PostgreSQL server, free ports. */
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { REPO_DIR } from './children.js';

/** The compiled `keyhold` command (`npm run build` first). */
export const BIN = join(REPO_DIR, 'bin', 'keyhold.js');
/** A PostgreSQL connection allowed to create and drop the scripts' scratch databases. */
export const PG_ADMIN = process.env.KEYHOLD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs one statement (CREATE/DROP DATABASE) on PG_ADMIN. */
export async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
