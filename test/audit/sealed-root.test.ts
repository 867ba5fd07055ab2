// A root of trust that cannot seal or unseal yet (e.g. a Shamir root before unsealing) postpones
// checkpoints; it never fails appends. The root here is the real software root behind a seal switch.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { openCheckpointSigner } from '../../src/audit/checkpoint-signing.js';
import { openAuditLog } from '../../src/audit/open-audit-log.js';
import { AuditSpool } from '../../src/audit/spool.js';
import { createAuditStore } from '../../src/audit/sql-audit-store.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import type { RootOfTrust } from '../../src/roots/root-of-trust.js';
import { createSoftwareRoot } from '../../src/roots/software-root.js';
import { dialectTargets } from '../helpers/dialects.js';
import { auditDatabase, sampleEvent, silentLogger } from './fixture.js';

function sealableRoot(): RootOfTrust & { sealed: boolean } {
  const inner = createSoftwareRoot(randomBytes(32));
  const root = Object.create(inner) as RootOfTrust & { sealed: boolean };
  root.sealed = true;
  root.sealSecret = async (secret, context) => {
    if (root.sealed) throw new Error('the root of trust is sealed');
    return inner.sealSecret(secret, context);
  };
  root.unsealSecret = async (sealed, context) => {
    if (root.sealed) throw new Error('the root of trust is sealed');
    return inner.unsealSecret(sealed, context);
  };
  return root;
}

for (const target of dialectTargets()) {
  describe(`a sealed root of trust postpones checkpoints on ${target.name}`, () => {
    const suite = auditDatabase(target);
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-sealed-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('appends while sealed, signs once unsealed, and the chain verifies', async () => {
      const root = sealableRoot();
      const audit = createAuditStore(suite.database());
      const chain = randomUUID();
      const clock = new ManualClock();
      const signer = await openCheckpointSigner({ audit, root, chain, now: clock.now() });
      const log = await openAuditLog({
        audit,
        chain,
        signer,
        spool: new AuditSpool(join(dir, `${chain}.jsonl`)),
        clock,
        logger: silentLogger,
        checkpointEvery: 2,
      });
      try {
        for (let i = 1; i <= 3; i++) await log.append(sampleEvent(i, clock.now()));
        assert.equal(log.status().committedSeq, 3);
        assert.equal(log.status().checkpointPostponed, true);
        assert.equal(await log.checkpointNow(), undefined);
        assert.equal((await verifyAuditLog(audit)).chains.find((c) => c.chain === chain)?.problem, undefined, 'links verify without a key');

        root.sealed = false;
        const checkpoint = await log.checkpointNow();
        assert.equal(checkpoint?.seq, 3);
        assert.equal(log.status().checkpointPostponed, false);
        const report = (await verifyAuditLog(audit)).chains.find((c) => c.chain === chain)!;
        assert.equal(report.problem, undefined);
        assert.equal(report.checkpointsVerified, 1);
      } finally {
        await log.close();
      }
    });
  });
}
