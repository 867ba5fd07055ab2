/**
 * `keyhold user|token|login|approvals|approval-policy`, end to end against one `keyhold serve` child.
 * Commands run in the node's cwd; `keyhold login` saves its token in a temporary KEYHOLD_CONFIG_DIR.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  adminCall,
  failureLine,
  failuresChangeNothing,
  keyhold,
  keyholdWithInput,
  ok,
  kmsConsoleTarget,
  parseJsonOutput,
  parseRecord,
  serveForSuite,
  tempDir,
} from './helpers.js';

/** The admin API's key view, as far as these tests read it. */
interface KeyJson {
  status: string;
}

const configDir = tempDir('access-config');
const suite = serveForSuite('access', { env: { KEYHOLD_CONFIG_DIR: configDir } });
const { cli, cwd } = suite;
/** Runs a command with another admin token, given as $KEYHOLD_ADMIN_TOKEN (a --token flag would show in ps). */
const asToken = (token: string, ...args: string[]) =>
  keyhold(args, { cwd, env: { KEYHOLD_CONFIG_DIR: configDir, KEYHOLD_ADMIN_TOKEN: token } });
/** Runs keyhold with a password piped on stdin, as a script would. */
const withPassword = (password: string, ...args: string[]) =>
  keyholdWithInput(password, args, { cwd, env: { KEYHOLD_CONFIG_DIR: configDir } });

const PASSWORD = 'alice has a long password';
function tokenOf(stdout: string): string {
  const token = /^(kh_\S+)\s+\(shown once\)$/.exec(parseRecord(stdout).token ?? '')?.[1];
  assert.ok(token, `a token shown once in:\n${stdout}`);
  return token;
}

describe('users and login', () => {
  it('user create reads the password from stdin and gives roles; user list shows them', async () => {
    const created = parseRecord(ok(await withPassword(PASSWORD, 'user', 'create', 'alice', '--roles', 'administrator')).stdout);
    assert.equal(created.name, 'alice');
    assert.equal(created.roles, 'administrator');
    for (const [name, roles] of [
      ['ann', 'approver'],
      ['ben', 'approver'],
      ['kim', 'key-officer'],
    ] as const) {
      ok(await withPassword(`${name} has a long password`, 'user', 'create', name, '--roles', roles));
    }
    const listed = ok(await cli('user', 'list')).stdout;
    assert.match(listed, /^alice\s+administrator\s+false/m);
    assert.match(listed, /^kim\s+key-officer\s+false/m);
  });

  it('login --user saves an expiring token (0600) that later commands use instead of the bootstrap token', async () => {
    const result = parseRecord(ok(await withPassword(PASSWORD, 'login', '--user', 'alice')).stdout);
    assert.equal(result.user, 'alice');
    const file = join(configDir, 'token.json');
    assert.equal(result.savedTo, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { url: string; token: string; expiresAt: string };
    assert.equal(saved.url, suite.node.adminUrl);
    assert.match(saved.token, /^kh_/);
    assert.ok(Date.parse(saved.expiresAt) > Date.now());
    ok(await cli('user', 'show', 'alice'));
    const tokens = parseJsonOutput<{ name: string; lastUsedAt?: string }[]>(ok(await cli('token', 'list', '--user', 'alice', '--json')));
    const [login] = tokens;
    assert.equal(tokens.length, 1);
    assert.equal(login?.name, 'login');
    assert.ok(login.lastUsedAt, 'the login token was the one used');
  });

  it('a wrong password is one line and saves nothing', async () => {
    const before = readFileSync(join(configDir, 'token.json'), 'utf8');
    assert.match(failureLine(await withPassword('not the password', 'login', '--user', 'alice')), /^keyhold: wrong user name or password/);
    assert.equal(readFileSync(join(configDir, 'token.json'), 'utf8'), before);
  });
});

describe('tokens', () => {
  it('token create shows the token once; it works until revoked', async () => {
    const created = ok(await cli('token', 'create', '--name', 'siem', '--role', 'auditor', '--ttl-hours', '24'));
    const token = tokenOf(created.stdout);
    const id = parseRecord(created.stdout).id ?? '';
    assert.match(ok(await cli('token', 'list')).stdout, new RegExp(`^${id}\\s+siem\\s+-\\s+auditor\\s+active`, 'm'));
    assert.ok(!ok(await cli('token', 'list', '--json')).stdout.includes(token));
    // An auditor may not list users.
    assert.match(failureLine(await asToken(token, 'user', 'list')), /^keyhold: this needs the users:read permission$/);
    assert.equal(parseRecord(ok(await cli('token', 'revoke', id)).stdout).status, 'revoked');
    assert.match(failureLine(await asToken(token, 'user', 'list')), /missing or invalid admin token/);
  });
});

describe('each failing access command says why and changes nothing', () => {
  failuresChangeNothing({
    node: () => suite.node,
    cli,
    listArgs: ['user', 'list'],
    cases: [
      ['user create without a password', ['user', 'create', 'zed'], /^keyhold: no password given/],
      ['user passwd without a password', ['user', 'passwd', 'kim'], /^keyhold: no password given/],
      ['user set-roles with an unknown role', ['user', 'set-roles', 'kim', 'wizard'], /^keyhold: unknown role "wizard"/],
      ['user set-roles of nobody', ['user', 'set-roles', 'ghost', 'auditor'], /^keyhold: no user named "ghost"/],
      ['user disable of nobody', ['user', 'disable', 'ghost'], /^keyhold: no user named "ghost"/],
      [
        'token create for a user and a role',
        ['token', 'create', '--name', 'x', '--user', 'kim', '--role', 'auditor'],
        /^keyhold: give exactly one of a user or a role/,
      ],
      ['token create with an unknown role', ['token', 'create', '--name', 'x', '--role', 'wizard'], /^keyhold: unknown role "wizard"/],
      ['token revoke of an unknown id', ['token', 'revoke', 'no-such-token'], /^keyhold: no token with id "no-such-token"/],
      [
        'approvals approve of an unknown id',
        ['approvals', 'approve', 'no-such-request'],
        /^keyhold: no approval request with id "no-such-request"/,
      ],
      [
        'approvals approve with a comment over 1,000 characters',
        ['approvals', 'approve', 'no-such-request', '--comment', 'x'.repeat(1001)],
        /^keyhold: body\/comment must NOT have more than 1000 characters/,
      ],
      [
        'approval-policy set with an unknown operation',
        ['approval-policy', 'set', '--group', 'demo', '--operations', 'key.explode', '--required', '1', '--role', 'approver'],
        /^keyhold: .*operations/,
      ],
      [
        'approval-policy set with too few approvers',
        ['approval-policy', 'set', '--group', 'demo', '--operations', 'key.disable', '--required', '3', '--users', 'ann,ben'],
        /^keyhold: 3 approvals required but only 2 approvers named$/,
      ],
      ['approval-policy show of an unknown group', ['approval-policy', 'show', '--group', 'nosuch'], /^keyhold: no group named "nosuch"$/],
      [
        'token create with no lifetime',
        ['token', 'create', '--name', 'x', '--role', 'auditor', '--ttl-hours', '0'],
        /^keyhold: token lifetime must be more than 0/,
      ],
    ],
  });
});

describe('approvals', () => {
  let annToken: string;
  let benToken: string;
  before(async () => {
    annToken = tokenOf(ok(await cli('token', 'create', '--name', 'ann', '--user', 'ann')).stdout);
    benToken = tokenOf(ok(await cli('token', 'create', '--name', 'ben', '--user', 'ben')).stdout);
  });

  it('approval-policy set/show; a gated key disable waits (exit 3) until an approver approves', async () => {
    ok(
      await cli(
        'approval-policy',
        'set',
        '--group',
        'demo',
        '--operations',
        'key.disable,credential.reveal',
        '--required',
        '1',
        '--role',
        'approver',
        '--expires-after-hours',
        '2',
      ),
    );
    const shown = parseRecord(ok(await cli('approval-policy', 'show', '--group', 'demo')).stdout);
    assert.equal(shown.operations, 'key.disable, credential.reveal');
    assert.equal(shown.approvers, 'role approver');
    const waiting = await cli('key', 'disable', 'demo-key');
    assert.equal(waiting.code, 3);
    const id = /request (\S+) needs 1 approval\(s\) before \S+; it runs when the last approval arrives$/.exec(failureLine(waiting))?.[1];
    assert.ok(id, waiting.stderr);
    assert.equal((await adminCall<KeyJson>(suite.node, 'GET', '/keys/demo-key')).json?.status, 'ENABLED');
    assert.match(
      ok(await asToken(annToken, 'approvals', 'list', '--status', 'pending')).stdout,
      new RegExp(`^${id}\\s+key.disable\\s+demo\\s+pending\\s+0/1\\s+alice`, 'm'),
    );
    const approved = parseRecord(ok(await asToken(annToken, 'approvals', 'approve', id)).stdout);
    assert.equal(approved.status, 'done');
    assert.equal((await adminCall<KeyJson>(suite.node, 'GET', '/keys/demo-key')).json?.status, 'DISABLED');
  });

  it('approvals deny rejects (--comment kept with the vote); the requester cannot approve their own request', async () => {
    const id = /request (\S+) needs/.exec(failureLine(await cli('keystore', 'kms-json', 'demo')))?.[1] ?? '';
    assert.match(failureLine(await cli('approvals', 'approve', id)), /you cannot approve or deny your own request/);
    const denied = parseRecord(ok(await asToken(benToken, 'approvals', 'deny', id, '--comment', 'not before  the\naudit')).stdout);
    assert.equal(denied.status, 'denied');
    assert.equal(denied.denials, 'ben ("not before the audit")', 'the comment with the vote, on one line');
    const shown = parseJsonOutput<{ denials: { user: string; comment?: string }[] }>(ok(await cli('--json', 'approvals', 'show', id)));
    assert.deepEqual(
      shown.denials.map((v) => [v.user, v.comment]),
      [['ben', 'not before  the\naudit']],
    );
    assert.match(failureLine(await cli('keystore', 'kms-json', 'demo', '--approval', id)), /is denied, not approved/);
  });

  it('a claim-mode request runs for the requester with --approval once approved', async () => {
    const id = /repeat this command with --approval (\S+)$/.exec(failureLine(await cli('keystore', 'kms-json', 'demo')))?.[1] ?? '';
    ok(await asToken(annToken, 'approvals', 'approve', id));
    const file = parseJsonOutput<unknown>(ok(await cli('keystore', 'kms-json', 'demo', '--approval', id)));
    assert.deepEqual(kmsConsoleTarget(file), suite.demo);
    assert.match(ok(await cli('approvals', 'show', id)).stdout, /^status\s+done$/m);
  });
});

describe('retiring the bootstrap token', () => {
  it("token retire-bootstrap deletes the bootstrap token and the data directory's admin-token file", async () => {
    const adminTokenFile = join(cwd, 'data', 'admin-token');
    const bootstrap = readFileSync(adminTokenFile, 'utf8').trim();
    assert.match(ok(await cli('token', 'retire-bootstrap')).stdout, /^Bootstrap token retired; removed /);
    assert.equal(existsSync(adminTokenFile), false);
    assert.match(failureLine(await asToken(bootstrap, 'user', 'list')), /missing or invalid admin token/);
    assert.match(failureLine(await cli('token', 'retire-bootstrap')), /^keyhold: the bootstrap token is already retired$/);
    // alice (administrator) still works.
    ok(await cli('user', 'list'));
  });
});
