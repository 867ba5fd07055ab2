/**
 * Issue 13, "creating a backup can be put under quorum approval like other sensitive operations": backups
 * through the serving node's admin API (POST /api/v1/backups, `keyhold backup create --api`), the approval
 * operation `backup.create` under the node-wide policy (claim mode), and the direct database path refused
 * while that policy lists it. The passphrase is searched for in the node's log and its database file.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ApprovalView } from '../../src/approvals/gate.js';
import type { RunningNode } from '../../src/server/running-node.js';
import { openDatabase } from '../../src/storage/open-database.js';
import { describeRun, failureLine, keyhold, removeTempDirs, tempDir } from '../cli/helpers.js';
import { bodyOf, errorOf, type CreatedToken } from '../helpers/admin-json.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { createUsers, type ActAs } from '../helpers/users.js';
import { startPeerNode } from '../helpers/fleet.js';
import { okBody } from '../helpers/xks-answers.js';
import { admin, closeAgents, decryptBody, encryptBody, xks } from '../helpers/xks-client.js';

const PASSPHRASE = 'api-backup passphrase never-logged 42';

describe('backups through the admin API, under quorum approval (issue 13)', () => {
  let node: TestNode;
  let as: ActAs;
  let rootToken: string;
  let restored: RunningNode | undefined;
  const work = tempDir('api-backup');
  const passphraseFile = join(work, 'passphrase');
  const rootTokenFile = join(work, 'root-token');
  let sealed: { plaintext: Buffer; encrypted: Parameters<typeof decryptBody>[0] };

  /** `keyhold backup create --api` as `root` (a user's token, so approvals can tell requester from approver). */
  const createViaApi = (out: string, ...extra: string[]) =>
    keyhold(
      [
        '--json',
        '--url',
        node.url,
        '--admin-ca',
        join(node.dataDir, 'tls', 'cert.pem'),
        '--token-file',
        rootTokenFile,
        ...extra,
        'backup',
        'create',
        '--api',
        '--out',
        out,
        '--passphrase-file',
        passphraseFile,
      ],
      { cwd: work, timeoutMs: 60_000 },
    );

  before(async () => {
    writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    node = await startTestNode();
    as = await createUsers(node, [
      ['root', ['administrator']],
      ['ann', ['approver']],
      ['ben', ['approver']],
      ['olivia', ['key-officer']],
    ]);
    rootToken = bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: 'cli', user: 'root' }), 201).token;
    writeFileSync(rootTokenFile, `${rootToken}\n`, { mode: 0o600 });
    const plaintext = Buffer.from(`before the API backup ${Math.random()}`);
    sealed = { plaintext, encrypted: okBody(await xks(node, { operation: 'encrypt', body: encryptBody(plaintext) }), 'encrypt') };
  });

  after(async () => {
    closeAgents();
    await restored?.close();
    await node.close();
    removeTempDirs();
  });

  it('backup:create is needed: a key officer is refused (403); a short passphrase is one line (400), nothing pending', async () => {
    const officer = await as('olivia', 'POST', '/backups', { passphrase: PASSPHRASE });
    assert.equal(officer.status, 403);
    assert.equal(errorOf(officer), 'this needs the backup:create permission');
    const short = await as('root', 'POST', '/backups', { passphrase: 'short' });
    assert.equal(short.status, 400);
    assert.match(errorOf(short), /^the passphrase is too short/);
  });

  it('no policy: the CLI gets the file from the node, and it restores into a new data directory that decrypts', async () => {
    const out = join(work, 'open.khb');
    const run = await createViaApi(out);
    assert.equal(run.code, 0, describeRun(run));
    const report = JSON.parse(run.stdout) as { via: string; manifest: { counts: Record<string, number>; node: string } };
    assert.equal(report.via, 'api');
    assert.equal(report.manifest.node, readFileSync(join(node.dataDir, 'node-id'), 'utf8').trim());
    assert.equal(report.manifest.counts.keys, 2, 'the demo key and the health canary');
    assert.equal(readFileSync(out).indexOf(Buffer.from(PASSPHRASE)) === -1, true);

    const newDir = join(work, 'restored');
    mkdirSync(newDir, { mode: 0o700 });
    copyFileSync(join(node.dataDir, 'master.key'), join(newDir, 'master.key'));
    const restore = await keyhold(['--data-dir', newDir, 'backup', 'restore', out, '--passphrase-file', passphraseFile], { cwd: work });
    assert.equal(restore.code, 0, describeRun(restore));
    const target = await startPeerNode(node, newDir);
    restored = target.node;
    const answer = okBody(await xks(target, { operation: 'decrypt', body: decryptBody(sealed.encrypted) }), 'decrypt');
    assert.deepEqual(Buffer.from(answer.plaintext, 'base64'), sealed.plaintext);
    await target.close();
    restored = undefined;
  });

  it('under the node-wide policy: 202 and a request; the requester cannot approve; two approvers; the requester claims the file once', async () => {
    const policy = await as('root', 'PUT', '/groups/*/approval-policy', {
      operations: ['backup.create'],
      approvers: { users: ['root', 'ann', 'ben'] },
      required: 2,
      expiresAfterHours: 1,
    });
    assert.equal(policy.status, 200, policy.text);

    const out = join(work, 'gated.khb');
    const asked = await createViaApi(out);
    assert.equal(asked.code, 3, describeRun(asked));
    const id = /request (\S+) needs 2 approval/.exec(failureLine(asked))?.[1];
    assert.ok(id, asked.stderr);
    assert.equal(existsSync(out), false, 'no file before the approvals');
    const view = bodyOf<ApprovalView>(await as('ann', 'GET', `/approvals/${id}`));
    assert.deepEqual([view.operation, view.group, view.mode, view.requester], ['backup.create', '*', 'claim', 'root']);
    assert.ok(!JSON.stringify(view).includes(PASSPHRASE));

    const self = await as('root', 'POST', `/approvals/${id}/approve`);
    assert.equal(self.status, 400);
    assert.match(errorOf(self), /your own request/);
    // Claiming before the quorum is refused and writes nothing.
    const early = await createViaApi(out, '--approval', id);
    assert.match(failureLine(early), /is pending, not approved/);
    assert.equal(existsSync(out), false);

    assert.equal((await as<ApprovalView>('ann', 'POST', `/approvals/${id}/approve`)).json.status, 'pending');
    assert.equal((await as<ApprovalView>('ben', 'POST', `/approvals/${id}/approve`)).json.status, 'approved');
    const claimed = await createViaApi(out, '--approval', id);
    assert.equal(claimed.code, 0, describeRun(claimed));
    const verify = await keyhold(['--json', 'backup', 'verify', out, '--passphrase-file', passphraseFile], { cwd: work });
    assert.equal(verify.code, 0, describeRun(verify));
    assert.equal((JSON.parse(verify.stdout) as { decrypted: boolean }).decrypted, true);
    assert.equal(bodyOf<ApprovalView>(await as('ann', 'GET', `/approvals/${id}`)).status, 'done');
    // Once: a second claim is refused.
    const again = await createViaApi(join(work, 'again.khb'), '--approval', id);
    assert.match(failureLine(again), /is done, not approved/);
    assert.equal(existsSync(join(work, 'again.khb')), false);
  });

  it('while gated, the direct database path refuses in one line and writes nothing; serve --backup-dir children are exempt', async () => {
    const out = join(work, 'direct.khb');
    const direct = await keyhold(['--data-dir', node.dataDir, 'backup', 'create', '--out', out, '--passphrase-file', passphraseFile], {
      cwd: work,
    });
    assert.match(failureLine(direct), /backups are under the node-wide approval policy \(backup\.create\).*--api/);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(`${out}.partial`), false);
    const scheduled = await keyhold(
      ['--data-dir', node.dataDir, 'backup', 'create', '--scheduled', '--out', out, '--passphrase-file', passphraseFile],
      { cwd: work },
    );
    assert.equal(scheduled.code, 0, describeRun(scheduled));
  });

  it('the passphrase is in no audit event, not in the node log, not in the database file; the backups are audited', async () => {
    const needle = Buffer.from(PASSPHRASE);
    assert.equal(node.logText().includes(PASSPHRASE), false, 'node log');
    const files = readdirSync(node.dataDir).filter((name) => name.startsWith('keyhold.db'));
    assert.ok(files.includes('keyhold.db'));
    for (const name of files) assert.equal(readFileSync(join(node.dataDir, name)).indexOf(needle), -1, name);
    const database = await openDatabase({ sqlitePath: join(node.dataDir, 'keyhold.db') });
    try {
      const events = await database
        .tables<{ audit_events: { action: string; event: unknown } }>()
        .selectFrom('audit_events')
        .selectAll()
        .execute();
      assert.ok(!JSON.stringify(events).includes(PASSPHRASE), 'audit events');
      const actions = events.map((e) => e.action);
      // Two through the API (open, then claimed), one by the exempt scheduled path; the request and the claim.
      assert.equal(actions.filter((a) => a === 'backup.create').length, 3, actions.join(','));
      assert.ok(actions.includes('approval.request') && actions.includes('approval.execute'));
      assert.ok(actions.includes('POST /api/v1/backups'));
    } finally {
      await database.close();
    }
  });
});
