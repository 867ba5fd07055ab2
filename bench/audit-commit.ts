/**
 * Micro-benchmark of the durable audit commit path alone: one process appends events through the real
 * chain writer and SQLite writer thread (synchronous=FULL: an fsync per transaction), open loop: event
 * i is appended at t0 + i/rate, each after WORK_US of busy CPU on the event loop (a request's own work,
 * as on a node near saturation), and the append → committed latency is measured from its slot. Runs
 * pipelined (the writer thread's depth) and one batch at a time (the previous behaviour), alternating,
 * so both see the same disk and machine.
 *
 *   node --import tsx bench/audit-commit.ts [--events N] [--rate R] [--work-us U] [--rounds K]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openCheckpointSigner } from '../src/audit/checkpoint-signing.js';
import type { AuditEventFields } from '../src/audit/event.js';
import { openAuditLog } from '../src/audit/open-audit-log.js';
import { AuditSpool } from '../src/audit/spool.js';
import { createAuditStore } from '../src/audit/sql-audit-store.js';
import { openSqliteAppender, type AuditAppender } from '../src/audit/sqlite-appender.js';
import { systemClock } from '../src/core/clock.js';
import { createSoftwareRoot } from '../src/roots/software-root.js';
import { openDatabase } from '../src/storage/open-database.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '2000' },
    'work-us': { type: 'string', default: '250' },
    rounds: { type: 'string', default: '2' },
  },
});
const total = Number(values.events);
const rate = Number(values.rate);
const workMs = Number(values['work-us']) / 1000;

/** Busy CPU on the event loop, as a request's own work would be. */
function work(): void {
  const until = performance.now() + workMs;
  while (performance.now() < until);
}

const event = (n: number): AuditEventFields => ({
  time: Date.now(),
  kind: 'xks',
  actorKind: 'sigv4',
  actorId: 'AKIAEXAMPLE',
  actorName: 'demo',
  action: 'Encrypt',
  keystore: 'demo',
  keyId: `key-${n % 10}`,
  keyVersion: 1,
  kmsOperation: 'GenerateDataKey',
  kmsRequestId: randomUUID(),
  principalArn: 'arn:aws:iam::111122223333:role/tester',
  sourceVpc: null,
  sourceVpce: null,
  kmsViaService: 'ebs',
  outcome: 'success',
  status: 200,
  errorName: null,
  detail: null,
  policyRuleId: 'default:allow',
  latencyUs: 900,
  target: null,
});

async function run(pipelined: boolean): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-audit-bench-'));
  const sqlitePath = join(dir, 'keyhold.db');
  const database = await openDatabase({ sqlitePath });
  const audit = createAuditStore(database);
  const root = createSoftwareRoot(randomBytes(32));
  const chain = randomUUID();
  const signer = await openCheckpointSigner({ audit, root, chain, now: Date.now() });
  const thread = openSqliteAppender(sqlitePath);
  const appender: AuditAppender = pipelined ? thread : { appendBatch: (events, epoch) => thread.appendBatch(events, epoch) };
  const log = await openAuditLog({
    audit,
    appender,
    chain,
    signer,
    spool: new AuditSpool(join(dir, 'spool.jsonl')),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
  });
  const latencies = new Float64Array(total);
  const appended: Promise<void>[] = [];
  const started = performance.now();
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      // The events whose slot has come, each after its request's work; then the loop turns (I/O, replies).
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      for (; next < due; next++) {
        const i = next;
        const slot = started + (i / rate) * 1000;
        work();
        appended.push(log.append(event(i)).then(() => void (latencies[i] = performance.now() - slot)));
      }
      if (next < total) setImmediate(tick);
      else done();
    };
    tick();
  });
  await Promise.all(appended);
  const seconds = (performance.now() - started) / 1000;
  const { commits } = log.status();
  await log.close();
  await thread.close?.();
  await root.close();
  await database.close();
  rmSync(dir, { recursive: true, force: true });
  const sorted = Float64Array.from(latencies).sort();
  return (
    `${pipelined ? 'pipelined     ' : 'one at a time '} ${Math.round(total / seconds)} events/s, ` +
    `p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, ${commits} batches settled`
  );
}

console.log(`${total} events at ${rate}/s, ${values['work-us']} µs of event-loop work each, SQLite synchronous=FULL, writer thread`);
for (let round = 0; round < Number(values.rounds); round++) {
  console.log(await run(true));
  console.log(await run(false));
}
