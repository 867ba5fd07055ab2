/**
 * `keyhold serve --workers N` end to end: the real CLI as a child process (primary + forked workers).
 * Fresh connections (no keep-alive agent) land on the workers in turn, so a burst reaches every worker.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseExposition, valueOf } from '../helpers/metrics.js';
import { alive, encryptBurst, logLines, workersAnswering, type WorkerStatus } from './workers-helpers.js';
import {
  adminCall,
  delay,
  describeRun,
  failureLine,
  httpsCall,
  keyhold,
  parseJsonOutput,
  removeTempDirs,
  serveForSuite,
  tempDir,
} from './helpers.js';

after(removeTempDirs);

describe('keyhold serve --workers 2 (SQLite)', () => {
  const suite = serveForSuite('workers', { args: ['--workers', '2', '--request-log', 'all'] });
  const { cwd } = suite;
  let pids: number[] = [];

  it('prints the serving line once, with the quick start, and both workers answer with their own node ids', async () => {
    assert.match(
      suite.node.stdout(),
      /serving XKS on https:\/\/localhost:\d+ and the admin API on https:\/\/localhost:\d+ with 2 worker processes/,
    );
    // The quick start follows the serving line; it may reach the pipe a moment later.
    for (let waited = 0; !/secret access key/.test(suite.node.stdout()) && waited < 5_000; waited += 50) await delay(50);
    assert.match(suite.node.stdout(), /secret access key/);
    assert.equal(suite.node.stdout().match(/serving XKS/g)?.length, 1);
    const seen = await workersAnswering(suite.node);
    assert.deepEqual([...seen.keys()].sort(), [1, 2]);
    const base = seen.get(1)!.nodeId.replace(/-w1$/, '');
    assert.equal(seen.get(1)!.nodeId, `${base}-w1`);
    assert.equal(seen.get(2)!.nodeId, `${base}-w2`);
    assert.deepEqual([seen.get(1)!.worker.count, seen.get(2)!.worker.count], [2, 2]);
    pids = [seen.get(1)!.worker.pid, seen.get(2)!.worker.pid];
    assert.notEqual(pids[0], pids[1]);
    assert.ok(!pids.includes(suite.node.child.pid!), 'workers are processes of their own');
  });

  it('many signed Encrypt requests over fresh connections all succeed', async () => {
    const statuses = await encryptBurst(suite.node, suite.demo, 'demo-key', 40, 8);
    assert.deepEqual(new Set(statuses), new Set([200]));
  });

  it("GET /metrics on whichever worker answers counts every worker's requests (the primary sums them)", async () => {
    const token = readFileSync(join(suite.node.dataDir, 'admin-token'), 'utf8').trim();
    const scrape = async () => {
      const response = await httpsCall(new URL('/metrics', suite.node.adminUrl).href, {
        method: 'GET',
        ca: suite.node.ca,
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200, response.text);
      const samples = parseExposition(response.text);
      const encrypts = samples
        .filter(
          (s) =>
            s.name === 'keyhold_xks_proxy_errors_total' &&
            s.labels.keystore === 'demo' &&
            s.labels.xks_operation === 'Encrypt' &&
            s.labels.exception_name === 'None',
        )
        .reduce((sum, s) => sum + s.value, 0);
      return { encrypts, fleet: valueOf(samples, 'keyhold_fleet_size', {}) };
    };
    const before = await scrape();
    const statuses = await encryptBurst(suite.node, suite.demo, 'demo-key', 24, 6);
    assert.deepEqual(new Set(statuses), new Set([200]));
    // Fresh connections take turns between the workers, and so do the scrapes: each must see all 24.
    for (let i = 0; i < 4; i++) {
      const now = await scrape();
      assert.equal(now.encrypts - before.encrypts, 24);
      assert.equal(now.fleet, 2, 'a node-wide gauge is not summed across workers');
    }
  });

  it('a key created through the admin API is usable at once on both workers; disabled, both refuse it at once', async () => {
    const created = await adminCall(suite.node, 'POST', '/keys', { id: 'fresh-key', keystore: 'demo' });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(new Set(await encryptBurst(suite.node, suite.demo, 'fresh-key')), new Set([200]));
    const disabled = await adminCall(suite.node, 'POST', '/keys/fresh-key/disable?keystore=demo');
    assert.equal(disabled.status, 200, disabled.text);
    assert.deepEqual(new Set(await encryptBurst(suite.node, suite.demo, 'fresh-key')), new Set([400]));
  });

  it('a keystore (with its credential) created, and the kill switch flipped, apply on both workers at once', async () => {
    const created = await adminCall<{ keystore: { uriPath: string }; credential: { accessKeyId: string; secret: string } }>(
      suite.node,
      'POST',
      '/keystores',
      { name: 'second', prefix: '/second' },
    );
    assert.equal(created.status, 201, created.text);
    assert.ok(created.json);
    const key = await adminCall(suite.node, 'POST', '/keys', { id: 'second-key', keystore: 'second' });
    assert.equal(key.status, 201, key.text);
    const second = { uriPath: created.json.keystore.uriPath, credential: created.json.credential };
    assert.deepEqual(new Set(await encryptBurst(suite.node, second, 'second-key')), new Set([200]));

    const engaged = await adminCall(suite.node, 'PUT', '/node/kill-switch', { on: true, reason: 'workers test' });
    assert.equal(engaged.status, 200, engaged.text);
    assert.deepEqual(new Set(await encryptBurst(suite.node, suite.demo, 'demo-key')), new Set([400]));
    const released = await adminCall(suite.node, 'PUT', '/node/kill-switch', { on: false });
    assert.equal(released.status, 200, released.text);
    assert.deepEqual(new Set(await encryptBurst(suite.node, suite.demo, 'demo-key')), new Set([200]));
  });

  it('a worker killed with SIGKILL is restarted by the primary; the service keeps answering meanwhile', async () => {
    const [victim, survivor] = pids as [number, number];
    process.kill(victim, 'SIGKILL');
    // Once the primary has reaped it (a connection handed to a worker at the instant it dies waits for the
    // client's timeout: docs/workers.md), the survivor answers everything while the victim is restarted.
    for (let i = 0; i < 100 && alive(victim); i++) await delay(20);
    assert.equal(alive(victim), false);
    assert.deepEqual(new Set(await encryptBurst(suite.node, suite.demo, 'demo-key', 8, 2)), new Set([200]));
    const deadline = Date.now() + 20_000;
    let seen = new Map<number, WorkerStatus>();
    while (Date.now() < deadline) {
      seen = await workersAnswering(suite.node, 6);
      if (seen.size === 2 && ![...seen.values()].some((s) => s.worker.pid === victim)) break;
      await delay(200);
    }
    assert.equal(seen.size, 2, 'both workers answer again');
    assert.ok(![...seen.values()].some((s) => s.worker.pid === victim), "a new process took the killed one's place");
    assert.ok(
      [...seen.values()].some((s) => s.worker.pid === survivor),
      'the other worker was left alone',
    );
    pids = [...seen.values()].map((s) => s.worker.pid);
    assert.deepEqual(new Set(await encryptBurst(suite.node, suite.demo, 'demo-key')), new Set([200]));
  });

  it('SIGTERM stops the workers and the primary cleanly (exit 0, no process left); both workers logged requests', async () => {
    const exit = new Promise<number | null>((resolve) => suite.node.child.once('exit', (code) => resolve(code)));
    suite.node.child.kill('SIGTERM');
    assert.equal(await exit, 0, describeRun({ code: null, signal: null, stdout: suite.node.stdout(), stderr: suite.node.stderr() }));
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} is gone`);
    const lines = logLines(suite.node);
    const encrypts = lines.filter((l) => l.event === 'xks.request' && l.keyId === 'fresh-key' && l.status === 200);
    assert.deepEqual(new Set(encrypts.map((l) => l.worker)), new Set([1, 2]), 'the fresh key was used on both workers');
    assert.ok(lines.some((l) => l.event === 'worker.exited' && l.worker === 'primary' && l.how === 'signal SIGKILL'));
    assert.ok(lines.some((l) => l.event === 'worker.restarted'));
    assert.equal(suite.node.stderr(), '');
  });

  it('audit verify passes with one chain per worker', async () => {
    const verified = await keyhold(['--data-dir', 'data', 'audit', 'verify'], { cwd });
    assert.equal(verified.code, 0, describeRun(verified));
    const chains = verified.stdout.split('\n').filter((line) => line.startsWith('chain '));
    assert.equal(chains.length, 2, verified.stdout);
    assert.ok(
      chains[0]!.match(/-w\d: events 1-\d+, \d+ checkpoint\(s\) verified: ok$/) &&
        chains[1]!.match(/-w\d: events 1-\d+, \d+ checkpoint\(s\) verified: ok$/),
      verified.stdout,
    );
    const checkpoint = await keyhold(['--data-dir', 'data', 'audit', 'checkpoint', '--worker', '2'], { cwd });
    assert.equal(checkpoint.code, 0, describeRun(checkpoint));
    assert.match(parseJsonOutput<{ chain: string }>(checkpoint).chain, /-w2$/);
  });
});

describe('serve --workers refuses what it cannot do, in one line, starting nothing', () => {
  // Made when the tests start: the node's suite above removes the temporary directories made before it ends.
  let cwd = '';
  before(() => {
    cwd = tempDir('workers-bad');
  });
  for (const [label, args, env, reason] of [
    [
      'zero',
      ['--workers', '0'],
      {},
      /--workers \/ \$KEYHOLD_WORKERS: must be a whole number of worker processes from 1 to 64, or auto \(got "0"\)/,
    ],
    ['not a number', ['--workers', 'abc'], {}, /\(got "abc"\)/],
    ['too many', ['--workers', '65'], {}, /from 1 to 64/],
    ['from the environment', [], { KEYHOLD_WORKERS: '-1' }, /\(got "-1"\)/],
  ] as [string, string[], Record<string, string>, RegExp][]) {
    it(`${label}`, async () => {
      const dataDir = `never-${label.replace(/\W/g, '-')}`;
      const result = await keyhold(['serve', '--data-dir', dataDir, '--port', '0', ...args], { cwd, env });
      assert.match(failureLine(result), reason);
      assert.equal(result.code, 2);
      assert.ok(!existsSync(join(cwd, dataDir)), 'no data directory was created');
    });
  }

  it('a Shamir-sealed node: --workers 2 is refused (each worker would need the shares)', async () => {
    const init = await keyhold(['init', '--data-dir', 'sealed', '--shares', '3', '--threshold', '2'], { cwd });
    assert.equal(init.code, 0, describeRun(init));
    const before = readdirSync(join(cwd, 'sealed')).sort();
    const result = await keyhold(['serve', '--data-dir', 'sealed', '--port', '0', '--workers', '2'], { cwd });
    assert.match(failureLine(result), /--workers 2 cannot serve a Shamir-sealed node: .*serve it with --workers 1/);
    assert.deepEqual(readdirSync(join(cwd, 'sealed')).sort(), before);
  });

  it('audit events spooled by a run with other workers are not stranded: the start is refused', async () => {
    const init = await keyhold(['init', '--data-dir', 'spooled'], { cwd });
    assert.equal(init.code, 0, describeRun(init));
    writeFileSync(join(cwd, 'spooled', 'audit-spool-w3.jsonl'), '{"seq":1}\n');
    const result = await keyhold(['serve', '--data-dir', 'spooled', '--port', '0', '--workers', '2'], { cwd });
    assert.match(failureLine(result), /wait in audit-spool-w3\.jsonl; serve once with --workers 3 \(or more\) so they are replayed/);
    const single = await keyhold(['serve', '--data-dir', 'spooled', '--port', '0'], { cwd });
    assert.match(failureLine(single), /audit-spool-w3\.jsonl/);
  });
});
