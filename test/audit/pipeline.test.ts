// Pipelined group commits on SQLite's writer thread (the real thread and file): batches are handed over
// without waiting for the previous commit, committed in order, and a failure never leaves a gap.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import SqliteDatabase from 'better-sqlite3';
import { chainEvent, GENESIS_HASH } from '../../src/audit/event.js';
import { openSqliteAppender } from '../../src/audit/sqlite-appender.js';
import { createAuditStore } from '../../src/audit/sql-audit-store.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { dialectTarget } from '../helpers/dialects.js';
import { auditDatabase, sampleEvent, type ChainFixture } from './fixture.js';

describe('pipelined audit commits on the SQLite writer thread', () => {
  const suite = auditDatabase(dialectTarget('sqlite'));
  const path = () => suite.sqlitePath!();

  /** Runs `sql` on a connection of its own (what another process would do to the file). */
  const exec = (sql: string) => {
    const db = new SqliteDatabase(path());
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  };

  /** Appends `count` events, each in its own event-loop turn (so each is its own batch), without waiting for commits. */
  async function appendInTurns(f: ChainFixture, count: number, tag: string): Promise<PromiseSettledResult<void>[]> {
    const appended: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      appended.push(f.log.append(sampleEvent(i, f.clock.now(), { kmsRequestId: `${tag}-${i}` })));
      await nextTurn();
    }
    return Promise.allSettled(appended);
  }

  /** The chain's stored events: contiguous from seq 1, and the chain verifies. */
  async function storedChain(f: ChainFixture): Promise<string[]> {
    const events = await f.audit.chainEvents(f.chain, 0, 10_000);
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
      'no gap in the chain',
    );
    const report = await verifyAuditLog(f.audit);
    assert.equal(report.chains.find((c) => c.chain === f.chain)?.problem, undefined);
    return events.map((e) => e.kmsRequestId ?? '');
  }

  it('hands each turn its own batch while an earlier commit is still running, and commits them all in order', async () => {
    const f = await suite.openChain({ sqlitePath: path(), checkpointEvery: 1000 });
    const blocker = new SqliteDatabase(path());
    blocker.exec('begin immediate'); // the writer thread's commit now waits for this lock
    const appended: Promise<void>[] = [];
    for (let i = 0; i < 3; i++) {
      appended.push(f.log.append(sampleEvent(i, f.clock.now(), { kmsRequestId: `blocked-${i}` })));
      await nextTurn();
      await nextTurn();
    }
    assert.equal(f.log.status().inFlight, 3, 'three batches handed over while the first cannot commit');
    assert.equal(f.log.status().committedSeq, 0);
    blocker.exec('commit');
    blocker.close();
    await Promise.all(appended);
    await f.log.flush();
    assert.equal(f.log.status().inFlight, 0);
    assert.equal(f.log.status().committedSeq, 3);
    assert.deepEqual(await storedChain(f), ['blocked-0', 'blocked-1', 'blocked-2']);
  });

  it('the writer fails batches behind a failed one of the same epoch without committing them, and commits the next epoch', async () => {
    const chain = randomUUID();
    const appender = openSqliteAppender(path());
    try {
      const first = chainEvent(sampleEvent(1, Date.now()), chain, 1, GENESIS_HASH);
      const second = chainEvent(sampleEvent(2, Date.now()), chain, 2, first.hash);
      const broken = { ...first, hash: 'not-a-hash' };
      const results = await Promise.allSettled([
        appender.appendBatch([broken], 0),
        appender.appendBatch([second], 0),
        appender.appendBatch([first], 1),
      ]);
      assert.deepEqual(
        results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'committed')),
        [
          'Error: audit batch: hashes do not match events',
          // Refused unseen, or (when the thread took both into one transaction) failed with it.
          results[1].status === 'rejected' && /earlier/.test(String(results[1].reason))
            ? 'Error: an earlier audit batch failed'
            : 'Error: audit batch: hashes do not match events',
          'committed',
        ],
      );
      const stored = await createAuditStore(suite.database()).chainEvents(chain, 0, 10);
      assert.deepEqual(
        stored.map((e) => e.seq),
        [1],
      );
    } finally {
      await appender.close?.();
    }
  });

  it('fail-closed: a failed commit fails the batches pipelined behind it, and the chain goes on without a gap', async () => {
    const f = await suite.openChain({ sqlitePath: path(), mode: 'fail-closed', checkpointEvery: 1000 });
    exec(`create trigger fail_seq_7 before insert on audit_events when new.chain_id = '${f.chain}' and new.seq = 7
          begin select raise(abort, 'disk on fire'); end`);
    const results = await appendInTurns(f, 30, 'fc');
    exec('drop trigger fail_seq_7');
    const committed = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`fc-${i}`] : []));
    assert.ok(committed.length < 30, 'the event at seq 7 failed');
    // Events behind seq 7 fail too: each retry chains the next event at seq 7 again (no gap), which fails.
    assert.ok(committed.length <= 6);
    assert.deepEqual(await storedChain(f), committed, 'exactly the events whose append resolved are stored');
    for (const r of results) if (r.status === 'rejected') assert.match(String(r.reason), /audit event could not be recorded/);

    const later = await appendInTurns(f, 3, 'after');
    assert.ok(later.every((r) => r.status === 'fulfilled'));
    assert.deepEqual(await storedChain(f), [...committed, 'after-0', 'after-1', 'after-2']);
    assert.equal(f.log.status().committedSeq, committed.length + 3);
  });

  it('durable: the failed batch and those behind it are spooled in order, then replayed without a gap', async () => {
    const f = await suite.openChain({ sqlitePath: path(), mode: 'durable', checkpointEvery: 1000, retryIntervalMs: 0 });
    exec(`create trigger fail_seq_5 before insert on audit_events when new.chain_id = '${f.chain}' and new.seq = 5
          begin select raise(abort, 'disk on fire'); end`);
    const results = await appendInTurns(f, 20, 'du');
    assert.ok(
      results.every((r) => r.status === 'fulfilled'),
      'every request is answered (committed or spooled)',
    );
    assert.ok(f.log.status().spooled > 0);
    exec('drop trigger fail_seq_5');
    await f.log.append(sampleEvent(99, f.clock.now(), { kmsRequestId: 'du-last' }));
    assert.equal(f.log.status().spooled, 0);
    assert.deepEqual(await storedChain(f), [...Array.from({ length: 20 }, (_, i) => `du-${i}`), 'du-last']);
  });
});
