// The group-commit writer and its modes. Database outages are real: PostgreSQL refuses new
// connections (ALLOW_CONNECTIONS false) and its sessions are terminated.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyAuditLog } from '../../src/audit/verify.js';
import type { AuditSync } from '../../src/audit/sqlite-appender.js';
import { dialectTarget, dialectTargets } from '../helpers/dialects.js';
import { databaseOutage } from '../helpers/postgres.js';
import { auditDatabase, sampleEvent } from './fixture.js';

for (const target of dialectTargets()) {
  describe(`audit group commit on ${target.name}`, () => {
    const suite = auditDatabase(target);

    it('concurrent appends share commits, keep arrival order, and each resolves only once committed', async () => {
      const f = await suite.openChain({ checkpointEvery: 1000, sqlitePath: suite.sqlitePath?.() });
      const committedAtResolve: number[] = [];
      await Promise.all(
        Array.from({ length: 600 }, (_, i) =>
          f.log.append(sampleEvent(i, f.clock.now(), { kmsRequestId: `order-${i}` })).then(async () => {
            // When a request's promise resolves its event is already in the database.
            if (i % 97 === 0) committedAtResolve.push((await f.audit.search({ kmsRequestId: `order-${i}`, limit: 1 })).length);
          }),
        ),
      );
      assert.ok(committedAtResolve.every((n) => n === 1));
      const events = await f.audit.chainEvents(f.chain, 0, 1000);
      assert.equal(events.length, 600);
      assert.deepEqual(
        events.map((e) => e.kmsRequestId),
        Array.from({ length: 600 }, (_, i) => `order-${i}`),
      );
      assert.equal(f.log.status().committedSeq, 600);
      assert.ok(f.log.status().commits < 100, `600 events in ${f.log.status().commits} commits`);
    });

    const sqlitePath = suite.sqlitePath;
    if (sqlitePath) {
      it('--audit-sync normal commits through the writer thread too; an unknown level is refused', async () => {
        const f = await suite.openChain({ sqlitePath: sqlitePath(), sync: 'normal' });
        await Promise.all(Array.from({ length: 20 }, (_, i) => f.log.append(sampleEvent(i, f.clock.now()))));
        assert.equal((await f.audit.chainEvents(f.chain, 0, 100)).length, 20);
        const report = await verifyAuditLog(f.audit);
        assert.equal(report.chains.find((c) => c.chain === f.chain)!.problem, undefined);
        await assert.rejects(
          suite.openChain({ sqlitePath: sqlitePath(), sync: 'off' as AuditSync }),
          /unknown audit sync "off": expected full, normal/,
        );
      });
    }

    it('lossy mode never waits, and counts what it drops when its queue is full', async () => {
      const f = await suite.openChain({ mode: 'lossy', lossyQueueLimit: 10 });
      for (let i = 0; i < 25; i++) await f.log.append(sampleEvent(i, f.clock.now()));
      await f.log.flush();
      const status = f.log.status();
      assert.equal(status.dropped, 15);
      assert.equal(status.committedSeq, 10);
      assert.equal((await f.audit.chainEvents(f.chain, 0, 100)).length, 10);
    });
  });
}

describe('audit modes when PostgreSQL goes away', () => {
  const postgres = dialectTarget('postgres');
  const suite = auditDatabase(postgres);
  const postgresUrl = () => {
    if (!postgres.url) throw new Error('no PostgreSQL URL');
    return postgres.url();
  };

  it('durable: spools to local disk (fsync per batch), answers, and replays in order on recovery', async () => {
    const f = await suite.openChain({ checkpointEvery: 1000 });
    for (let i = 1; i <= 3; i++) await f.log.append(sampleEvent(i, f.clock.now(), { kmsRequestId: `before-${i}` }));
    const db = databaseOutage(postgresUrl());
    await db.begin();
    try {
      await Promise.all([1, 2, 3, 4].map((i) => f.log.append(sampleEvent(i, f.clock.now(), { kmsRequestId: `during-${i}` }))));
      await f.log.append(sampleEvent(5, f.clock.now(), { kmsRequestId: 'during-5' }));
      assert.equal(f.log.status().spooled, 5);
      assert.ok(existsSync(join(f.spoolDir, 'audit-spool.jsonl')));
    } finally {
      await db.end();
    }
    await f.log.append(sampleEvent(9, f.clock.now(), { kmsRequestId: 'after-1' }));
    await f.log.flush();
    assert.equal(f.log.status().spooled, 0);
    assert.ok(!existsSync(join(f.spoolDir, 'audit-spool.jsonl')));
    const events = await f.audit.chainEvents(f.chain, 0, 100);
    assert.deepEqual(
      events.map((e) => e.kmsRequestId),
      ['before-1', 'before-2', 'before-3', 'during-1', 'during-2', 'during-3', 'during-4', 'during-5', 'after-1'],
    );
    const report = await verifyAuditLog(f.audit);
    assert.equal(report.chains.find((c) => c.chain === f.chain)!.problem, undefined);
  });

  it('fail-closed: an event that cannot be committed fails its request, and nothing is spooled', async () => {
    const f = await suite.openChain({ mode: 'fail-closed' });
    await f.log.append(sampleEvent(1, f.clock.now()));
    const db = databaseOutage(postgresUrl());
    await db.begin();
    try {
      await assert.rejects(f.log.append(sampleEvent(2, f.clock.now())), /could not be recorded/);
      assert.equal(f.log.status().spooled, 0);
    } finally {
      await db.end();
    }
    await f.log.append(sampleEvent(3, f.clock.now(), { kmsRequestId: 'after' }));
    const events = await f.audit.chainEvents(f.chain, 0, 100);
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2],
    );
    assert.equal(events[1]!.kmsRequestId, 'after');
  });

  it('lossy: a failed commit drops its events and counts them', async () => {
    const f = await suite.openChain({ mode: 'lossy' });
    const db = databaseOutage(postgresUrl());
    await db.begin();
    try {
      for (let i = 0; i < 4; i++) await f.log.append(sampleEvent(i, f.clock.now()));
      await f.log.flush();
      assert.equal(f.log.status().dropped, 4);
    } finally {
      await db.end();
    }
  });
});
