/**
 * `keyhold audit …` and the audit flags of `keyhold serve`, end to end against a `keyhold serve` child:
 * search and export through the admin API, then — with the node stopped — checkpoint and verify
 * straight on the data directory's database, before and after tampering.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { failureLine, failuresChangeNothing, keyhold, ok, parseJsonOutput, serveForSuite, tempDir, xksCall } from './helpers.js';

const suite = serveForSuite('audit', {
  args: ['--audit-mode', 'durable'],
  setUp: async ({ node, demo }) => {
    for (let i = 0; i < 3; i++) assert.equal((await xksCall(node, { ...demo, operation: 'encrypt', keyId: 'demo-key' })).status, 200);
    assert.equal((await xksCall(node, { ...demo, operation: 'encrypt', keyId: 'missing' })).status, 404);
  },
});
const { cli, cwd } = suite;

describe('audit search / export / status (through the admin API)', () => {
  it('audit search --key --outcome finds the events, as a table or JSON', async () => {
    const table = ok(await cli('audit', 'search', '--key', 'demo-key', '--outcome', 'success')).stdout;
    assert.equal(table.split('\n').filter((l) => l.includes('Encrypt')).length, 3, table);
    const json = parseJsonOutput<{ events: { errorName: string }[] }>(ok(await cli('--json', 'audit', 'search', '--key', 'missing')));
    assert.deepEqual(
      json.events.map((e) => e.errorName),
      ['KeyNotFoundException'],
    );
  });

  it('audit export writes every matching event as one JSON line, across pages', async () => {
    const lines = ok(await cli('audit', 'export', '--keystore', 'demo'))
      .stdout.trim()
      .split('\n');
    const events = lines.map((l) => JSON.parse(l) as { keystore: string; seq: number; hash: string });
    assert.equal(events.length, 4);
    assert.ok(events.every((e) => e.keystore === 'demo' && /^[0-9a-f]{64}$/.test(e.hash)));
    const none = ok(await cli('audit', 'export', '--from', '2099-01-01T00:00:00Z')).stdout;
    assert.equal(none, '');
  });

  it('audit status shows the mode and that nothing was dropped', async () => {
    const out = ok(await cli('audit', 'status')).stdout;
    assert.match(out, /mode\s+durable/);
    assert.match(out, /dropped\s+0/);
  });

  describe('failures say why in one line and change nothing', () => {
    failuresChangeNothing({
      node: () => suite.node,
      cli,
      listArgs: ['audit', 'export', '--keystore', 'demo'],
      cases: [
        ['a time that is not one', ['audit', 'search', '--from', 'yesterday'], /from must be an ISO 8601 time/],
        ['an unknown outcome', ['audit', 'export', '--outcome', 'maybe'], /outcome must be equal to one of the allowed values/],
        ['a page too large', ['audit', 'search', '--limit', '5000'], /limit must be <= 1000/],
        ['a checkpoint file that does not exist', ['audit', 'verify', '--checkpoint', 'nope.json'], /no checkpoint file at nope\.json/],
        ['a public key without a checkpoint', ['audit', 'verify', '--public-key', 'data/tls/cert.pem'], /not a PEM public key/],
      ],
    });
  });
});

describe('serve refuses bad audit settings before touching anything', () => {
  for (const [args, env, reason] of [
    [['--audit-mode', 'sometimes'], {}, /must be one of durable, fail-closed, lossy/],
    [[], { KEYHOLD_AUDIT_MODE: 'often' }, /KEYHOLD_AUDIT_MODE: must be one of/],
    [['--syslog', 'udp://127.0.0.1:514'], {}, /expected tcp:\/\/host:port/],
    [['--audit-retention-days', '0'], {}, /at least 1/],
    [['--audit-sync', 'off'], {}, /--audit-sync \/ \$KEYHOLD_AUDIT_SYNC: must be one of full, normal/],
    [[], { KEYHOLD_AUDIT_SYNC: 'extra' }, /KEYHOLD_AUDIT_SYNC: must be one of full, normal/],
    [['--request-log', 'some'], {}, /--request-log \/ \$KEYHOLD_REQUEST_LOG: expected all or errors, got "some"/],
  ] as [string[], Record<string, string>, RegExp][]) {
    it(`serve ${args.join(' ') || JSON.stringify(env)} → ${reason.source}`, async () => {
      const dir = tempDir('audit-bad');
      const result = await keyhold(['serve', '--data-dir', 'fresh', '--port', '0', ...args], { cwd: dir, env });
      assert.match(failureLine(result), reason);
      assert.throws(() => readFileSync(join(dir, 'fresh', 'node-id')), /ENOENT/, 'no data directory was initialized');
    });
  }
});

describe('audit checkpoint / verify on the database, with the node stopped', () => {
  it('verifies the chain; given an exported checkpoint, names a truncated tail and an edited record', async () => {
    const { node } = suite;
    await node.stop(); // closing signs a checkpoint at the head
    const exported = ok(await cli('audit', 'checkpoint')).stdout;
    const checkpoint = JSON.parse(exported) as { seq: number; chain: string; publicKey: string };
    assert.match(checkpoint.publicKey, /BEGIN PUBLIC KEY/);
    writeFileSync(join(cwd, 'checkpoint.json'), exported);
    assert.match(ok(await cli('audit', 'verify', '--checkpoint', 'checkpoint.json')).stdout, /: ok$/m);

    const db = new SqliteDatabase(join(node.dataDir, 'keyhold.db'));
    try {
      db.prepare('delete from audit_events where chain_id = ? and seq = ?').run(checkpoint.chain, checkpoint.seq);
      db.prepare('delete from audit_checkpoints where chain_id = ? and seq = ?').run(checkpoint.chain, checkpoint.seq);
    } finally {
      db.close();
    }
    const truncated = await cli('audit', 'verify', '--checkpoint', 'checkpoint.json');
    assert.equal(truncated.code, 1, `${truncated.stdout}\n${exported}`);
    assert.match(truncated.stdout, new RegExp(`BROKEN at seq ${checkpoint.seq} \\(truncated\\)`));
    assert.match(truncated.stderr, /^keyhold: audit log is not intact: chain \S+, seq \d+: truncated\n$/);

    const db2 = new SqliteDatabase(join(node.dataDir, 'keyhold.db'));
    try {
      db2.prepare("update audit_events set kms_request_id = 'forged' where chain_id = ? and seq = 2").run(checkpoint.chain);
    } finally {
      db2.close();
    }
    const edited = await cli('audit', 'verify');
    assert.equal(edited.code, 1);
    assert.match(edited.stdout, /BROKEN at seq 2 \(edited\)/);
  });
});
