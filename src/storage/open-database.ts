import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations/index.js';
import { databaseConnection, type DatabaseConnection, type InMemoryCopier, type RowArrayReader, type SqlDialect } from './connection.js';

export interface OpenStoreOptions {
  /** `postgres://…` or `postgresql://…` selects PostgreSQL. */
  databaseUrl?: string;
  /** The SQLite file used when there is no database URL (the embedded default). */
  sqlitePath?: string;
}

const isPostgresUrl = (url: string) => /^postgres(ql)?:\/\//i.test(url);

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(options: OpenStoreOptions): Promise<DatabaseConnection> {
  const { db, dialect, readRowArrays, inMemoryCopy } = connect(options);
  try {
    await migrateToLatest(db, dialect);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return databaseConnection(db, dialect, readRowArrays, inMemoryCopy);
}

interface Connected {
  db: Kysely<unknown>;
  dialect: SqlDialect;
  readRowArrays: RowArrayReader;
  inMemoryCopy?: InMemoryCopier;
}

function connect(options: OpenStoreOptions): Connected {
  const url = options.databaseUrl?.trim();
  if (url) {
    // Refuse rather than fall back to SQLite: a node that silently wrote to a local file
    // would split from the fleet it was configured to join.
    if (!isPostgresUrl(url)) {
      throw new Error(`unsupported database URL "${redact(url)}": expected postgres:// or postgresql://`);
    }
    const pool = postgresPool(url);
    const readRowArrays: RowArrayReader = async (text, parameters) =>
      (await pool.query<unknown[]>({ text, values: [...parameters], rowMode: 'array' })).rows;
    return { db: new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres', readRowArrays };
  }
  if (!options.sqlitePath) throw new Error('no database configured: give a PostgreSQL URL or a SQLite path');
  return sqliteConnected(openSqlite(options.sqlitePath));
}

/** A SQLite handle as a connection's parts: the query builder, the raw reader, the in-memory copier. */
function sqliteConnected(sqlite: SqliteDatabase.Database): Connected {
  const readRowArrays: RowArrayReader = (text, parameters) => {
    try {
      return Promise.resolve(
        sqlite
          .prepare<unknown[], unknown[]>(text)
          .raw(true)
          .all(...parameters),
      );
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const inMemoryCopy: InMemoryCopier = (maxBytes) => {
    const pages = Number(sqlite.pragma('page_count', { simple: true }));
    const pageSize = Number(sqlite.pragma('page_size', { simple: true }));
    if (pages * pageSize > maxBytes) return Promise.resolve(undefined);
    // One read transaction over every page (committed WAL frames included): a consistent image.
    const image = sqlite.serialize();
    // The image's header says WAL (bytes 18–19 are 2), which an in-memory database cannot be; 1 is a rollback journal.
    image[18] = 1;
    image[19] = 1;
    const copy = sqliteConnected(new SqliteDatabase(image));
    return Promise.resolve(databaseConnection(copy.db, 'sqlite', copy.readRowArrays));
  };
  return { db: new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) }), dialect: 'sqlite', readRowArrays, inMemoryCopy };
}

function openSqlite(path: string): SqliteDatabase.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SqliteDatabase(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  // synchronous stays NORMAL (WAL): a commit survives a process crash; an OS crash or power loss can lose
  // the last commits. better-sqlite3 runs on the event loop, so FULL here would stall the data plane for
  // an fsync on every heartbeat or audit checkpoint (measured: saturation 6,049 → 4,889 req/s). Audit
  // events are fsynced by their own writer thread (--audit-sync, docs/audit.md).
  sqlite.pragma('busy_timeout = 5000');
  return sqlite;
}

const parseNumber = (value: string): number => Number(value);

function postgresPool(connectionString: string): pg.Pool {
  // int8 (our millisecond timestamps, and COUNT(*)) arrives as a string by default, because it can
  // exceed 2^53. Timestamps never do, so parse it as a number, on this pool only rather than
  // through pg's process-wide setTypeParser. BYTEA already arrives as a Buffer.
  const types: pg.CustomTypesConfig = {
    getTypeParser: (oid, format): unknown =>
      oid === pg.types.builtins.INT8 && format !== 'binary' ? parseNumber : pg.types.getTypeParser(oid, format),
  };
  const pool = new pg.Pool({ connectionString, types });
  // An idle client whose connection drops emits 'error' on the pool; unhandled, that would crash
  // the process. The next query reports the outage instead, and the data plane keeps serving.
  pool.on('error', () => {});
  // A client the pool has handed out has no 'error' listener (pg-pool removes its idle one), and pg emits
  // 'error' when the connection drops mid-query: unheard, that crashed the node (found by the database
  // outage drill, bench/fleet-drill.ts). The query itself still fails, and the pool drops the dead client.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

/** Hides a password in a URL before it goes into an error message. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
}
