import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../../../src/core/clock.js';
import type { Primary, RestartPolicy } from '../../../src/server/cluster/cluster-primary.js';
import { startPrimary } from '../../../src/server/cluster/primary.js';
import { WORKER_INDEX_ENV } from '../../../src/server/cluster/protocol.js';

const FIXTURE = new URL('./fixture-worker.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'keyhold-primary-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Event {
  index: number;
  pid: number;
  event: string;
}

/** A primary whose workers are fixture-worker.ts processes; its log lines and fatal message are kept. */
function primaryOf(workers: number, env: Record<string, string> = {}, restart?: RestartPolicy) {
  const eventsFile = join(dir, `events-${Math.random().toString(36).slice(2)}.jsonl`);
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  let fatal: string | undefined;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, EVENTS_FILE: eventsFile, WORKERS: String(workers), ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  const primary: Primary = startPrimary({
    workers,
    logger: pino({ level: 'info' }, sink),
    clock: systemClock,
    restart,
    stopTimeoutMs: 5_000,
    fork: (index) =>
      fork(FIXTURE, [], {
        execArgv: ['--import', 'tsx'],
        env: { ...childEnv, [WORKER_INDEX_ENV]: String(index) },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      }),
    onFatal: (message) => {
      fatal = message;
    },
  });
  const events = (): Event[] =>
    existsSync(eventsFile)
      ? readFileSync(eventsFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Event)
      : [];
  return { primary, lines, events, fatal: () => fatal };
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the primary of serve --workers', () => {
  it('starts every worker, relays a change from one worker to the others before answering it, and stops them all', async () => {
    const { primary, events } = primaryOf(3);
    assert.deepEqual(await primary.started, { url: 'https://localhost:1', adminUrl: 'https://localhost:1', port: 1 });
    const workers = primary.workers();
    assert.deepEqual(
      workers.map((w) => [w.index, w.ready, w.restarts]),
      [
        [1, true, 0],
        [2, true, 0],
        [3, true, 0],
      ],
    );
    assert.equal(new Set(workers.map((w) => w.pid)).size, 3);
    assert.match(await primary.banner(), /^banner from worker \d$/);

    process.kill(workers[0]!.pid!, 'SIGUSR2');
    await until('worker 1 to finish announcing', () => events().some((e) => e.index === 1 && e.event === 'announced'));
    const log = events().map((e) => `${e.index} ${e.event}`);
    const announced = log.indexOf('1 announced');
    // Workers 2 and 3 refreshed before worker 1's announcement returned; worker 1 itself did not.
    assert.ok(log.indexOf('2 refreshed') >= 0 && log.indexOf('2 refreshed') < announced, log.join(', '));
    assert.ok(log.indexOf('3 refreshed') >= 0 && log.indexOf('3 refreshed') < announced, log.join(', '));
    assert.ok(!log.includes('1 refreshed'), log.join(', '));

    await primary.stop();
    assert.deepEqual(
      events()
        .filter((e) => e.event === 'sigterm')
        .map((e) => e.index)
        .sort(),
      [1, 2, 3],
    );
    for (const worker of workers) assert.equal(alive(worker.pid!), false, `worker ${worker.index} is gone`);
  });

  it('restarts a worker that was killed, with a new pid, and logs it', async () => {
    const { primary, lines } = primaryOf(2, {}, { initialDelayMs: 10, maxDelayMs: 100, maxCrashes: 5, windowMs: 60_000 });
    await primary.started;
    const before = primary.workers()[1]!.pid!;
    process.kill(before, 'SIGKILL');
    const restarted = await until('worker 2 to be restarted', () => {
      const worker = primary.workers()[1]!;
      return worker.ready && worker.pid !== before && worker;
    });
    assert.equal(restarted.restarts, 1);
    assert.equal(primary.workers()[0]!.restarts, 0);
    assert.ok(lines.some((l) => l.event === 'worker.exited' && l.workerIndex === 2 && l.how === 'signal SIGKILL'));
    await until('the restart to be logged', () => lines.some((l) => l.event === 'worker.restarted' && l.workerIndex === 2));
    await primary.stop();
    assert.equal(alive(restarted.pid!), false);
  });

  it('a crash loop ends in one fatal message instead of restarting forever', async () => {
    const { primary, fatal, events } = primaryOf(1, { CRASH: '1' }, { initialDelayMs: 5, maxDelayMs: 20, maxCrashes: 2, windowMs: 60_000 });
    await primary.started.catch(() => undefined);
    const message = await until('the fatal message', fatal);
    assert.match(message, /^workers crashed 3 times within 60 s \(last: worker 1, code 3\); stopped, see the log$/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(events().filter((e) => e.event === 'ready').length, 3, 'started once and restarted twice, then no more');
    await primary.stop();
  });

  it('a worker that cannot start fails the start with its own reason; the others are stopped', async () => {
    const { primary, events } = primaryOf(2, { FAIL_INDEX: '2' });
    await assert.rejects(primary.started, /^Error: worker 2 cannot start: port 1 is taken$/);
    await primary.stop();
    const pids = events().map((e) => e.pid);
    for (const pid of pids) assert.equal(alive(pid), false);
  });
});
