/**
 * Databases a feature's data-access test runs against: SQLite in a temp dir and a scratch database on
 * the real PostgreSQL (createScratchDatabase; unreachable PostgreSQL fails rather than skips).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/storage/open-store.js';
import type { Store } from '../../src/storage/store.js';
import { createScratchDatabase, type ScratchDatabase } from './postgres.js';

export interface DialectTarget {
  name: 'sqlite' | 'postgres';
  setUp(): Promise<void>;
  /** Another store on the same database (as a second node would have). */
  open(): Promise<Store>;
  tearDown(): Promise<void>;
}

export function dialectTargets(): DialectTarget[] {
  let dir = '';
  let database: ScratchDatabase | undefined;
  return [
    {
      name: 'sqlite',
      setUp() {
        dir = mkdtempSync(join(tmpdir(), 'keyhold-dal-'));
        return Promise.resolve();
      },
      open: () => openStore({ sqlitePath: join(dir, 'keyhold.db') }),
      tearDown() {
        if (dir) rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    },
    {
      name: 'postgres',
      async setUp() {
        database = await createScratchDatabase();
      },
      open: () => openStore({ databaseUrl: database!.url }),
      async tearDown() {
        await database?.drop();
      },
    },
  ];
}
