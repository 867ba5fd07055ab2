// Tamper-evidence: every kind of tampering is done with raw SQL, on SQLite and on PostgreSQL, and
// `verify` must name the first bad record and the kind of break.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { chainEvent, eventHash, GENESIS_HASH } from '../../src/audit/event.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { applyRetention } from '../../src/audit/retention.js';
import { checkpointMessage, verifyCheckpoint } from '../../src/audit/checkpoint-signing.js';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { AuditTables } from '../../src/audit/audit-rows.js';
import { dialectTargets } from '../helpers/dialects.js';
import { appendEvents, auditDatabase, sampleEvent, type ChainFixture } from './fixture.js';

for (const target of dialectTargets()) {
  describe(`audit chain and verify on ${target.name}`, () => {
    const suite = auditDatabase(target);

    /** A fresh chain of 12 events with checkpoints at 5 and 10; only this chain is verified. */
    async function chainOf12(): Promise<ChainFixture> {
      const f = await suite.openChain();
      await appendEvents(f, 12);
      await f.log.flush();
      return f;
    }
    const run = (text: string, ...values: unknown[]) => {
      const strings = Object.assign(text.split('?'), { raw: text.split('?') }) as unknown as TemplateStringsArray;
      return sql(strings, ...values).execute(suite.database().tables<AuditTables>());
    };
    async function verifyOne(f: ChainFixture, options = {}) {
      const report = await verifyAuditLog(f.audit, options);
      return report.chains.find((c) => c.chain === f.chain)!;
    }

    it('links every event to the one before with SHA-256 over the canonical form, and signs checkpoints every N events', async () => {
      const f = await chainOf12();
      const events = await f.audit.chainEvents(f.chain, 0, 100);
      assert.deepEqual(
        events.map((e) => e.seq),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      );
      assert.equal(events[0]!.prevHash, GENESIS_HASH);
      for (let i = 1; i < events.length; i++) assert.equal(events[i]!.prevHash, events[i - 1]!.hash);
      for (const e of events) assert.equal(eventHash(e), e.hash);
      const checkpoints = await f.audit.checkpoints(f.chain);
      assert.deepEqual(
        checkpoints.map((c) => c.seq),
        [5, 10],
      );
      for (const c of checkpoints) assert.ok(verifyCheckpoint(c, f.log.publicKeyPem));
      const report = await verifyOne(f);
      assert.equal(report.problem, undefined);
      assert.equal(report.events, 12);
      assert.equal(report.checkpointsVerified, 2);
    });

    it('detects an edited record', async () => {
      const f = await chainOf12();
      await run(`update audit_events set outcome = 'success' where chain_id = ? and seq = 4`, f.chain);
      const report = await verifyOne(f);
      assert.deepEqual([report.problem?.seq, report.problem?.kind], [4, 'edited']);
    });

    it('detects an edited record whose hash was recomputed', async () => {
      const f = await chainOf12();
      const [e4] = await f.audit.chainEvents(f.chain, 3, 1);
      const forged = { ...e4!, kmsRequestId: 'forged' };
      await run(`update audit_events set kms_request_id = 'forged', hash = ? where chain_id = ? and seq = 4`, eventHash(forged), f.chain);
      const report = await verifyOne(f);
      assert.deepEqual([report.problem?.seq, report.problem?.kind], [4, 'edited']);
    });

    it('detects a deleted record (a gap)', async () => {
      const f = await chainOf12();
      await run(`delete from audit_events where chain_id = ? and seq = 7`, f.chain);
      const report = await verifyOne(f);
      assert.deepEqual([report.problem?.seq, report.problem?.kind], [7, 'deleted']);
    });

    it('detects reordered records', async () => {
      const f = await chainOf12();
      await run(`update audit_events set seq = -1 where chain_id = ? and seq = 6`, f.chain);
      await run(`update audit_events set seq = 6 where chain_id = ? and seq = 7`, f.chain);
      await run(`update audit_events set seq = 7 where chain_id = ? and seq = -1`, f.chain);
      const report = await verifyOne(f);
      assert.deepEqual([report.problem?.seq, report.problem?.kind], [6, 'reordered']);
    });

    it('detects an inserted record, even one correctly hashed and linked', async () => {
      const f = await chainOf12();
      const [e6] = await f.audit.chainEvents(f.chain, 5, 1);
      // Make room at 7: move 7..12 up by one (through negative numbers, so no key collides).
      await run(`update audit_events set seq = -seq - 1 where chain_id = ? and seq >= 7`, f.chain);
      await run(`update audit_events set seq = -seq where chain_id = ? and seq < 0`, f.chain);
      const forged = chainEvent(sampleEvent(99, f.clock.now(), { kmsRequestId: 'inserted' }), f.chain, 7, e6!.hash);
      await f.audit.appendBatch([forged]);
      const report = await verifyOne(f);
      assert.deepEqual([report.problem?.seq, report.problem?.kind], [7, 'inserted']);
    });

    it('detects a truncated tail given a checkpoint exported earlier', async () => {
      const f = await chainOf12();
      const exported = await f.log.checkpointNow();
      assert.equal(exported?.seq, 12);
      // The attacker removes the tail and the checkpoints that would give it away.
      await run(`delete from audit_events where chain_id = ? and seq > 10`, f.chain);
      await run(`delete from audit_checkpoints where chain_id = ? and seq > 10`, f.chain);
      assert.equal((await verifyOne(f)).problem, undefined, 'without the exported checkpoint the shorter chain is consistent');
      const report = await verifyOne(f, { checkpoint: exported });
      assert.deepEqual([report.problem?.seq, report.problem?.kind], [11, 'truncated']);
    });

    it('detects a truncated tail from a stored checkpoint left behind', async () => {
      const f = await chainOf12();
      await run(`delete from audit_events where chain_id = ? and seq > 8`, f.chain);
      const report = await verifyOne(f);
      assert.deepEqual([report.problem?.seq, report.problem?.kind], [9, 'truncated']);
    });

    it('rejects a forged checkpoint, and a chain rewritten under a pinned public key', async () => {
      const f = await chainOf12();
      await run(
        `update audit_checkpoints set signature = ? where chain_id = ? and seq = 5`,
        Buffer.alloc(64, 1).toString('base64'),
        f.chain,
      );
      const report = await verifyOne(f);
      assert.deepEqual([report.problem?.seq, report.problem?.kind], [5, 'checkpoint']);

      // An attacker who rewrites a chain and re-signs its checkpoints with a key of their own, and
      // swaps the stored public key, passes an unpinned verify but not one pinned to the real key.
      const g = await chainOf12();
      const exported = (await g.audit.latestCheckpoint(g.chain))!;
      const attacker = generateKeyPairSync('ed25519');
      await run(`update audit_events set outcome = 'success' where chain_id = ? and seq = 12`, g.chain);
      for (const cp of await g.audit.checkpoints(g.chain)) {
        const resigned = sign(null, checkpointMessage(cp), attacker.privateKey).toString('base64');
        await run(`update audit_checkpoints set signature = ? where chain_id = ? and seq = ?`, resigned, g.chain, cp.seq);
      }
      await run(
        `update audit_chains set public_key = ? where chain_id = ?`,
        attacker.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
        g.chain,
      );
      const pinned = await verifyOne(g, { checkpoint: exported, publicKeyPem: g.log.publicKeyPem });
      assert.equal(pinned.problem?.kind, 'checkpoint');
      assert.match(pinned.problem.detail, /pinned/);
    });

    it('retention deletes old events only up to a signed checkpoint, which anchors the rest', async () => {
      const f = await suite.openChain();
      await appendEvents(f, 7); // checkpoint at 5; 6 and 7 are not covered yet
      f.clock.advance(10 * 86_400_000);
      await appendEvents(f, 5, 8); // checkpoint at 10
      await f.log.flush();
      // With syslog forwarding, events not yet forwarded are kept.
      assert.deepEqual(await applyRetention(f.audit, f.chain, 7, f.clock.now(), true), { deleted: 0 });
      await f.audit.setForwarded(f.chain, 12);
      const result = await applyRetention(f.audit, f.chain, 7, f.clock.now(), true);
      assert.deepEqual(result, { deleted: 5, anchorSeq: 5 });
      const remaining = await f.audit.chainEvents(f.chain, 0, 100);
      assert.deepEqual(
        remaining.map((e) => e.seq),
        [6, 7, 8, 9, 10, 11, 12],
      );
      const report = await verifyOne(f);
      assert.equal(report.problem, undefined);
      assert.equal(report.firstSeq, 6);
      // Running again deletes nothing more; new events keep chaining after restart of the writer.
      assert.deepEqual(await applyRetention(f.audit, f.chain, 7, f.clock.now()), { deleted: 0 });
      // Deleting the anchor's checkpoint breaks verification.
      await run(`delete from audit_checkpoints where chain_id = ? and seq = 5`, f.chain);
      assert.equal((await verifyOne(f)).problem?.kind, 'deleted');
    });

    it('a restarted writer continues the chain where it stopped', async () => {
      const f = await chainOf12();
      await f.log.close();
      const again = await suite.openChain({ chain: f.chain });
      await appendEvents(again, 3, 13);
      await again.log.flush();
      const events = await again.audit.chainEvents(f.chain, 10, 100);
      assert.deepEqual(
        events.map((e) => e.seq),
        [11, 12, 13, 14, 15],
      );
      assert.equal((await verifyOne(again)).problem, undefined);
    });
  });
}
