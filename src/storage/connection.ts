import { type Kysely, sql } from 'kysely';

export type SqlDialect = 'sqlite' | 'postgres';

/**
 * An open database with its schema up to date: SQLite (the embedded default) or PostgreSQL (a fleet).
 * This is all `src/storage/` offers features: each feature owns its store (its queries and row mapping,
 * behind an interface of its own) and reaches its tables through `tables<TheirTables>()`; its migration
 * in `migrations/` creates them.
 */
export interface DatabaseConnection {
  readonly dialect: SqlDialect;
  /**
   * The query builder typed for one feature's tables. The tables exist (migrations ran at open); the
   * type names only the ones the feature declares, so a feature cannot reach another's rows by accident.
   */
  tables<Tables>(): Kysely<Tables>;
  /** Resolves once the database answers a trivial query (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Wraps an open Kysely instance (any table type) as a connection. */
export function databaseConnection(db: Kysely<unknown>, dialect: SqlDialect): DatabaseConnection {
  return {
    dialect,
    // The one place a feature's table type is applied to the shared query builder (see above).
    tables: <Tables>() => db as Kysely<Tables>,
    async ping() {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
