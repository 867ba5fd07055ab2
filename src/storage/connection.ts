import { type Compilable, type Kysely, sql } from 'kysely';

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
  /**
   * Runs a query built with tables<T>() and returns each row as an array of its values, in the order of
   * the query's select list (read them with RowValues, row-values.ts). For bulk reads only: at node start
   * every key is read, and the driver's one object per row with named fields was a third of the query's
   * time at 100,000 rows.
   */
  rowArrays(query: Compilable): Promise<unknown[][]>;
  /**
   * SQLite only: a private in-memory copy of the whole database as it is now, read in one short read
   * transaction (every page, about 0.1 s for 80 MB), or undefined when the database is larger than `maxBytes`
   * (or is PostgreSQL). Whatever then reads the copy, at any pace, holds nothing of the live database: a
   * long read transaction on it would keep the serving node's write-ahead log from being reset.
   */
  inMemoryCopy(maxBytes: number): Promise<DatabaseConnection | undefined>;
  /** Resolves once the database answers a trivial query (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Runs a compiled query on the driver itself, rows as arrays (SQLite's raw mode, PostgreSQL's rowMode 'array'). */
export type RowArrayReader = (sql: string, parameters: readonly unknown[]) => Promise<unknown[][]>;

/** Makes a private in-memory copy of the database if it is at most `maxBytes` (DatabaseConnection.inMemoryCopy). */
export type InMemoryCopier = (maxBytes: number) => Promise<DatabaseConnection | undefined>;

/** Wraps an open Kysely instance (any table type) and its driver's row-array reader as a connection. */
export function databaseConnection(
  db: Kysely<unknown>,
  dialect: SqlDialect,
  readRowArrays: RowArrayReader,
  inMemoryCopy: InMemoryCopier = () => Promise.resolve(undefined),
): DatabaseConnection {
  return {
    dialect,
    inMemoryCopy,
    rowArrays(query) {
      const compiled = query.compile();
      return readRowArrays(compiled.sql, compiled.parameters);
    },
    // The one place a feature's table type is applied to the shared query builder (see above).
    tables: <Tables>() => db as Kysely<Tables>,
    async ping() {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
