/**
 * Audit tests run on both dialects (test/helpers/dialects.ts): SQLite in a temp dir and the real
 * PostgreSQL. Each test opens its own chain (a fresh chain id) on the dialect's shared database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import type { AuditLog, AuditMode } from '../../src/audit/audit-log.js';
import type { AuditStore } from '../../src/audit/audit-store.js';
import { openCheckpointSigner } from '../../src/audit/checkpoint-signing.js';
import type { AuditEventFields } from '../../src/audit/event.js';
import { openAuditLog } from '../../src/audit/open-audit-log.js';
import { AuditSpool } from '../../src/audit/spool.js';
import { createAuditStore } from '../../src/audit/sql-audit-store.js';
import { openSqliteAppender, type AuditSync } from '../../src/audit/sqlite-appender.js';
import { createSoftwareRoot } from '../../src/roots/software-root.js';
import type { DatabaseConnection } from '../../src/storage/connection.js';
import { suiteDatabase, type DialectTarget } from '../helpers/dialects.js';

/** The per-dialect database of an audit suite, and the chains its tests open on it. */
export interface AuditDatabase {
  /** The dialect's shared database (set up before the suite's tests). */
  database(): DatabaseConnection;
  /** Opens a chain on it; the suite closes it after its tests. */
  openChain(options?: ChainOptions): Promise<ChainFixture>;
  /** PostgreSQL: the scratch database's URL (for outages). */
  url?: () => string;
  /** SQLite: the database file (production commits to it from a writer thread). */
  sqlitePath?: () => string;
}

/**
 * Sets up `target`'s database for the enclosing describe (before its tests) and, after them, closes
 * every chain its tests opened and drops the database. Call it inside `describe`.
 */
export function auditDatabase(target: DialectTarget): AuditDatabase {
  const fixtures: ChainFixture[] = [];
  // Registered before the database's own hooks (node:test runs `after` hooks in registration order),
  // so the chains close before the database does.
  after(async () => {
    for (const f of fixtures) await f.close();
  });
  const database = suiteDatabase(target);
  return {
    database,
    async openChain(options) {
      const fixture = await openChain(database(), options);
      fixtures.push(fixture);
      return fixture;
    },
    url: target.url,
    sqlitePath: target.sqlitePath,
  };
}

export const silentLogger = pino({ level: 'silent' });

export interface ChainFixture {
  chain: string;
  audit: AuditStore;
  log: AuditLog;
  clock: ManualClock;
  spoolDir: string;
  close(): Promise<void>;
}

export interface ChainOptions {
  /** SQLite: commit through the writer thread, as a node does. */
  sqlitePath?: string;
  sync?: AuditSync;
  mode?: AuditMode;
  checkpointEvery?: number;
  lossyQueueLimit?: number;
  clock?: ManualClock;
  chain?: string;
  retryIntervalMs?: number;
}

/** A chain writer on `database` with a fresh chain id (unless given), a software root and its own spool. */
export async function openChain(database: DatabaseConnection, options: ChainOptions = {}): Promise<ChainFixture> {
  const chain = options.chain ?? randomUUID();
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 10, 1));
  const audit = createAuditStore(database);
  const root = createSoftwareRoot(randomBytes(32));
  const signer = await openCheckpointSigner({ audit, root, chain, now: clock.now() });
  const spoolDir = mkdtempSync(join(tmpdir(), 'keyhold-spool-'));
  const appender = options.sqlitePath ? openSqliteAppender(options.sqlitePath, undefined, options.sync) : undefined;
  const log = await openAuditLog({
    audit,
    appender,
    chain,
    signer,
    spool: new AuditSpool(join(spoolDir, 'audit-spool.jsonl')),
    clock,
    logger: silentLogger,
    mode: options.mode,
    checkpointEvery: options.checkpointEvery ?? 5,
    checkpointIntervalMs: 3_600_000,
    lossyQueueLimit: options.lossyQueueLimit,
    retryIntervalMs: options.retryIntervalMs ?? 0,
  });
  return {
    chain,
    audit,
    log,
    clock,
    spoolDir,
    async close() {
      await log.close().catch(() => undefined);
      await appender?.close?.();
      await root.close();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

export function sampleEvent(n: number, time: number, extra: Partial<AuditEventFields> = {}): AuditEventFields {
  return {
    time,
    kind: 'xks',
    actorKind: 'sigv4',
    actorId: 'AKIAEXAMPLE',
    actorName: null,
    action: 'Encrypt',
    keystore: 'demo',
    keyId: `key-${n % 3}`,
    keyVersion: 1,
    kmsOperation: 'Encrypt',
    kmsRequestId: `req-${n}`,
    principalArn: 'arn:aws:iam::111122223333:role/tester',
    sourceVpc: null,
    sourceVpce: null,
    kmsViaService: null,
    outcome: n % 4 === 0 ? 'error' : 'success',
    status: n % 4 === 0 ? 400 : 200,
    errorName: n % 4 === 0 ? 'ValidationException' : null,
    detail: null,
    policyRuleId: null,
    latencyUs: 1000 + n,
    target: null,
    ...extra,
  };
}

/** Appends `count` events one at a time (one commit each, so checkpoints fall every N exactly). */
export async function appendEvents(fixture: ChainFixture, count: number, start = 1): Promise<void> {
  for (let i = 0; i < count; i++) await fixture.log.append(sampleEvent(start + i, fixture.clock.now()));
}
