/**
 * Issue 13, "no pause in XKS traffic": the parts that keep a backup beside a serving node gentle. The pacer
 * holds a job to a share of a core; the content encoder turns tables into the backup format a slice at a
 * time (gzip members that read back as one stream); `keyhold backup create` lowers the priority of every
 * thread it has. bench/backup-under-load.ts measures the effect on XKS latency (docs/backup.md#pacing).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ContentEncoder, decodeContent } from '../../src/backup/content.js';
import type { TableValues } from '../../src/backup/snapshot.js';
import { createPacer } from '../../src/backup/pacer.js';
import { ManualClock } from '../../src/core/clock.js';
import { describeRun, keyhold, removeTempDirs, tempDir } from '../cli/helpers.js';

after(() => removeTempDirs());

/** A pacer on a manual clock whose sleeps advance the clock and are recorded. */
function pacerOnManualClock(share: number) {
  const clock = new ManualClock();
  const slept: number[] = [];
  const pacer = createPacer({
    share,
    clock,
    sleep: (ms) => {
      slept.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    },
  });
  return { clock, slept, pacer };
}

describe('the pacer holds a job to its share of a core (issue 13)', () => {
  it('after 10 ms of work at a quarter of a core, it rests 30 ms', async () => {
    const { clock, slept, pacer } = pacerOnManualClock(0.25);
    clock.advance(10);
    await pacer.pause();
    assert.deepEqual(slept, [30]);
    clock.advance(4);
    await pacer.pause();
    assert.deepEqual(slept, [30, 12], 'each pause answers the work since the previous one, not the total');
    assert.equal(pacer.sleptMs, 42);
  });

  it('over many slices the job works the share it was given', async () => {
    const { clock, pacer } = pacerOnManualClock(0.2);
    const startedAt = clock.now();
    let worked = 0;
    for (let slice = 0; slice < 100; slice++) {
      const work = 1 + (slice % 7);
      clock.advance(work);
      worked += work;
      await pacer.pause();
    }
    assert.ok(Math.abs(worked / (clock.now() - startedAt) - 0.2) < 1e-9, `worked ${worked} ms of ${clock.now() - startedAt} ms`);
  });

  it('a share of 1 never rests, and a share outside (0, 1] is refused', async () => {
    const { clock, slept, pacer } = pacerOnManualClock(1);
    clock.advance(500);
    await pacer.pause();
    assert.deepEqual(slept, []);
    for (const share of [0, -0.5, 1.5, Number.NaN]) assert.throws(() => createPacer({ share, clock }), /above 0 and at most 1/);
  });
});

describe('the content encoder writes the backup format a slice at a time (issue 13)', () => {
  const keyRows = Array.from({ length: 6_000 }, (_, i) => [
    `key-${i}`,
    randomBytes(64),
    BigInt(i),
    i % 3 === 0 ? null : `a note with "quotes" and ünïcödé ${i}`,
  ]);
  // Enough rows that the text passes several gzip members.
  const tables: TableValues[] = [
    { name: 'keys', columns: ['id', 'material', 'version', 'note'], rows: keyRows },
    { name: 'empty', columns: ['a'], rows: [] },
    { name: 'settings', columns: ['name', 'value'], rows: [['x', '{"nested":true}']] },
  ];

  it('reads back, every value in place, from several gzip members', async () => {
    const encoder = new ContentEncoder();
    for (const table of tables) {
      encoder.beginTable(table.name, table.columns);
      for (let i = 0; i < table.rows.length; i += 500) encoder.addRows(table.rows.slice(i, i + 500));
      encoder.endTable();
    }
    const content = encoder.finish();
    const members = countGzipMembers(content);
    assert.ok(members > 1, `the content is written as several members (${members})`);
    const decoded = await decodeContent(content);
    assert.deepEqual(
      decoded.map((t) => t.name),
      ['keys', 'empty', 'settings'],
    );
    const keys = decoded[0]?.rows ?? [];
    assert.equal(keys.length, 6_000);
    for (const [i, row] of keys.entries()) {
      const [id, material, , note] = keyRows[i] ?? [];
      assert.equal(row.id, id);
      assert.ok(Buffer.isBuffer(row.material) && row.material.equals(material as Buffer), `row ${i}: material is the same Buffer`);
      assert.equal(row.version, i);
      assert.equal(row.note, note);
    }
    assert.deepEqual(decoded[1]?.rows, []);
    assert.deepEqual(decoded[2]?.rows, [{ name: 'x', value: '{"nested":true}' }]);
    // One stream of JSON when read as a whole, as every earlier Keyhold reads it.
    assert.equal(typeof JSON.parse(gunzipSync(content).toString('utf8')), 'object');
  });

  it('refuses rows outside a table, and a content finished with a table open', () => {
    const encoder = new ContentEncoder();
    assert.throws(() => encoder.addRows([[1]]), /rows outside a table/);
    encoder.beginTable('t', ['a']);
    assert.throws(() => encoder.finish(), /table t is still open/);
  });
});

/**
 * Gzip members in a buffer, counted by their 10-byte header as Node writes it (magic, deflate, no flags, no
 * time, Unix): a run of 80 bits that compressed data repeats by chance too rarely to matter.
 */
function countGzipMembers(content: Buffer): number {
  const header = Buffer.from('1f8b0800000000000003', 'hex');
  let members = 0;
  for (let at = content.indexOf(header); at >= 0; at = content.indexOf(header, at + header.length)) members++;
  return members;
}

describe('keyhold backup create yields the CPU (issue 13)', () => {
  it('every thread of the process runs at the lowest priority, V8 platform threads included', () => {
    const script = `
      const { readdirSync, readFileSync } = await import('node:fs');
      const { lowerPriorityOfAllThreads } = await import(${JSON.stringify(new URL('../../src/cli/process-priority.ts', import.meta.url).href)});
      const nice = () => readdirSync('/proc/self/task').map((t) => Number(readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ')[16]));
      const before = nice();
      lowerPriorityOfAllThreads();
      console.log(JSON.stringify({ before, after: nice() }));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const { before, after } = JSON.parse(run.stdout) as { before: number[]; after: number[] };
    assert.ok(before.length > 1 && before.every((n) => n === 0), `threads start at nice 0: ${before.join(',')}`);
    assert.ok(after.length >= before.length && after.every((n) => n === 19), `every thread at nice 19 after: ${after.join(',')}`);
  });

  it('--cpu-share outside (0, 1], or with --api, is refused with one line', async () => {
    const work = tempDir('backup-pacing');
    const passphrase = join(work, 'passphrase');
    writeFileSync(passphrase, 'a long enough passphrase\n', { mode: 0o600 });
    for (const [share, extra, pattern] of [
      ['0', [], /--cpu-share must be a number above 0 and at most 1/],
      ['1.5', [], /--cpu-share must be a number above 0 and at most 1/],
      ['lots', [], /--cpu-share must be a number above 0 and at most 1/],
      ['0.5', ['--api'], /--cpu-share paces a backup this command takes itself/],
    ] as const) {
      const run = await keyhold(
        ['backup', 'create', '--out', join(work, 'x.khb'), '--passphrase-file', passphrase, '--cpu-share', share, ...extra],
        {
          cwd: work,
        },
      );
      assert.equal(run.code, 1, describeRun(run));
      assert.match(run.stderr, /^keyhold: [^\n]+\n$/, `one line: ${describeRun(run)}`);
      assert.match(run.stderr, pattern);
    }
  });
});
