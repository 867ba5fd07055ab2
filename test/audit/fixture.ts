/**
 * Audit tests run on both dialects: SQLite in a temp dir and the real PostgreSQL. Each test opens
 * its own chain (a fresh chain id) on the dialect's shared database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { openAuditLog, type AuditLog, type AuditMode } from '../../src/audit/audit-log.js';
import { createAuditStore, type AuditStore } from '../../src/audit/audit-store.js';
import { openCheckpointSigner } from '../../src/audit/checkpoint-signing.js';
import type { AuditEventFields } from '../../src/audit/event.js';
import { AuditSpool } from '../../src/audit/spool.js';
import { openSqliteAppender, type AuditSync } from '../../src/audit/sqlite-appender.js';
import { createSoftwareRoot } from '../../src/roots/software-root.js';
import { openStore } from '../../src/storage/open-store.js';
import type { Store } from '../../src/storage/store.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';

export interface Dialect {
  name: 'sqlite' | 'postgres';
  setUp(): Promise<void>;
  store(): Store;
  url?: () => string;
  /** The SQLite file (production commits to it from a writer thread). */
  sqlitePath?: () => string;
  tearDown(): Promise<void>;
}

export function dialects(): Dialect[] {
  let dir = '';
  let sqliteStore: Store;
  let scratch: ScratchDatabase;
  let pgStore: Store;
  return [
    {
      name: 'sqlite',
      async setUp() {
        dir = mkdtempSync(join(tmpdir(), 'keyhold-audit-'));
        sqliteStore = await openStore({ sqlitePath: join(dir, 'keyhold.db') });
      },
      store: () => sqliteStore,
      sqlitePath: () => join(dir, 'keyhold.db'),
      async tearDown() {
        await sqliteStore?.close();
        rmSync(dir, { recursive: true, force: true });
      },
    },
    {
      name: 'postgres',
      async setUp() {
        scratch = await createScratchDatabase();
        pgStore = await openStore({ databaseUrl: scratch.url });
      },
      store: () => pgStore,
      url: () => scratch.url,
      async tearDown() {
        await pgStore?.close();
        await scratch?.drop();
      },
    },
  ];
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

export async function openChain(
  store: Store,
  options: {
    /** SQLite: commit through the writer thread, as a node does. */
    sqlitePath?: string;
    sync?: AuditSync;
    mode?: AuditMode;
    checkpointEvery?: number;
    lossyQueueLimit?: number;
    clock?: ManualClock;
    chain?: string;
    retryIntervalMs?: number;
  } = {},
): Promise<ChainFixture> {
  const chain = options.chain ?? randomUUID();
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 10, 1));
  const audit = createAuditStore(store);
  const root = createSoftwareRoot(randomBytes(32));
  const signer = await openCheckpointSigner({ audit, root, chain, now: clock.now() });
  const spoolDir = mkdtempSync(join(tmpdir(), 'keyhold-spool-'));
  const appender = options.sqlitePath ? await openSqliteAppender(options.sqlitePath, undefined, options.sync) : undefined;
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
