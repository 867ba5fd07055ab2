/**
 * Databases a feature's data-access test runs against: SQLite in a temp dir and a scratch database on
 * the real PostgreSQL (createScratchDatabase; unreachable PostgreSQL fails rather than skips).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { after, before } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConnection } from '../../src/storage/connection.js';
import { openDatabase, type OpenStoreOptions } from '../../src/storage/open-database.js';
import { createScratchDatabase, type ScratchDatabase } from './postgres.js';

export interface DialectTarget {
  name: 'sqlite' | 'postgres';
  setUp(): Promise<void>;
  /** Another connection to the same database, for feature stores (as a second node would have). */
  connect(): Promise<DatabaseConnection>;
  /** PostgreSQL: the scratch database's URL (for outages). */
  url?: () => string;
  /** SQLite: the database file (production commits audit events to it from a writer thread). */
  sqlitePath?: () => string;
  tearDown(): Promise<void>;
}

export function dialectTargets(): DialectTarget[] {
  let dir = '';
  let database: ScratchDatabase | undefined;
  const sqlitePath = () => join(dir, 'keyhold.db');
  const postgresUrl = () => {
    if (!database) throw new Error('the PostgreSQL target is not set up');
    return database.url;
  };
  const sqlite: OpenStoreOptions = {};
  const postgres: OpenStoreOptions = {};
  return [
    {
      name: 'sqlite',
      setUp() {
        dir = mkdtempSync(join(tmpdir(), 'keyhold-dal-'));
        sqlite.sqlitePath = sqlitePath();
        return Promise.resolve();
      },
      connect: () => openDatabase(sqlite),
      sqlitePath,
      tearDown() {
        if (dir) rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    },
    {
      name: 'postgres',
      async setUp() {
        database = await createScratchDatabase();
        postgres.databaseUrl = database.url;
      },
      connect: () => openDatabase(postgres),
      url: postgresUrl,
      async tearDown() {
        await database?.drop();
      },
    },
  ];
}

/** One dialect's target (for a suite that needs a particular database, e.g. PostgreSQL for outages). */
export function dialectTarget(name: DialectTarget['name']): DialectTarget {
  const target = dialectTargets().find((candidate) => candidate.name === name);
  if (!target) throw new Error(`no ${name} target`);
  return target;
}

/**
 * The database of the enclosing describe on `target`: set up and connected before its tests, closed
 * and dropped after them (`onOpen` runs once it is open). Call it inside `describe`; the returned function
 * gives the connection.
 */
export function suiteDatabase(
  target: DialectTarget,
  onOpen?: (database: DatabaseConnection) => void | Promise<void>,
): () => DatabaseConnection {
  let database: DatabaseConnection | undefined;
  before(async () => {
    await target.setUp();
    database = await target.connect();
    await onOpen?.(database);
  });
  after(async () => {
    await database?.close();
    await target.tearDown();
  });
  return () => {
    if (!database) throw new Error(`the ${target.name} database is not set up yet`);
    return database;
  };
}
