/**
 * `keyhold policy …`, end to end against one `keyhold serve` child, with XKS requests checking that
 * what the CLI changed is what the data plane enforces.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { adminCall, failuresChangeNothing, ok, parseJsonOutput, serveForSuite, xksCall } from './helpers.js';

/** What `policy show --json` and `policy simulate --json` print, as far as these tests read it. */
interface PolicyJson {
  description: string;
  rules: { id: string }[];
}
interface SimulationJson {
  allowed: boolean;
  decidedBy: string;
  trace: { mismatch?: string }[];
}

const suite = serveForSuite('policy');
const { cli, cwd } = suite;
/** xksCall signs as arn:aws:iam::111122223333:role/cli-test. */
const CLI_TEST = 'arn:aws:iam::111122223333:role/cli-test';
const encrypt = () => xksCall(suite.node, { ...suite.demo, operation: 'encrypt', keyId: 'demo-key' });
const health = () => xksCall(suite.node, { ...suite.demo, operation: 'health' });

function writeJson(name: string, value: unknown): string {
  const path = join(cwd, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

describe('keyhold policy', () => {
  it('create --file, list, show: the policy is enforced on the next request', async () => {
    const file = writeJson('lock.json', {
      name: 'lock',
      description: 'demo-key: only the payments role',
      attach: { key: 'demo-key', keystore: 'demo' },
      rules: [{ id: 'payments-only', effect: 'deny', unless: { principal: ['arn:aws:iam::111122223333:role/payments'] } }],
    });
    assert.equal((await encrypt()).status, 200);
    const created = ok(await cli('policy', 'create', '--file', file)).stdout;
    assert.match(created, /^policy\s+lock$/m);
    assert.match(created, /^attachedTo\s+key demo-key in keystore demo$/m);
    assert.match(created, /^payments-only\s+deny\s+\(any request\)\s+principal=arn:aws:iam::111122223333:role\/payments$/m);
    const denied = await encrypt();
    assert.equal(denied.status, 403, denied.text);
    assert.equal(denied.json?.errorName, 'AccessDeniedException');
    assert.equal((await health()).status, 200, 'health is never subject to policy');

    assert.match(ok(await cli('policy', 'list')).stdout, /^lock\s+enforce\s+key demo-key in keystore demo\s+1$/m);
    const shown = parseJsonOutput<PolicyJson>(ok(await cli('--json', 'policy', 'show', 'lock')));
    assert.equal(shown.rules[0]?.id, 'payments-only');
    assert.equal(shown.description, 'demo-key: only the payments role');
  });

  it('simulate says whether a request would be allowed and by which rule, with the trace', async () => {
    const denied = ok(
      await cli('policy', 'simulate', '--keystore', 'demo', '--key', 'demo-key', '--operation', 'Encrypt', '--principal', CLI_TEST),
    ).stdout;
    assert.match(denied, /^allowed\s+no$/m);
    assert.match(denied, /^decidedBy\s+lock\/payments-only$/m);
    assert.match(denied, /^lock\/payments-only\s+enforce\s+key\s+deny\s+yes$/m);
    const allowed = parseJsonOutput<SimulationJson>(
      ok(
        await cli(
          '--json',
          'policy',
          'simulate',
          '--keystore',
          'demo',
          '--key',
          'demo-key',
          '--principal',
          'arn:aws:iam::111122223333:role/payments',
          '--kms-operation',
          'GenerateDataKey',
          '--via',
          'rds.us-east-1.amazonaws.com',
          '--vpc',
          'vpc-1',
          '--vpce',
          'vpce-1',
          '--key-arn',
          'arn:aws:kms:us-east-1:111122223333:key/x',
        ),
      ),
    );
    assert.deepEqual({ allowed: allowed.allowed, decidedBy: allowed.decidedBy }, { allowed: true, decidedBy: 'default:allow' });
    assert.deepEqual(allowed.trace[0]?.mismatch, 'unless');
  });

  it('update to audit-only, attach, detach, set-default and delete each change what the next request gets', async () => {
    const file = writeJson('lock-audit.json', {
      name: 'lock',
      mode: 'audit-only',
      rules: [{ id: 'payments-only', effect: 'deny', unless: { principal: ['arn:aws:iam::111122223333:role/payments'] } }],
    });
    assert.match(ok(await cli('policy', 'update', 'lock', '--file', file)).stdout, /^mode\s+audit-only$/m);
    assert.equal((await encrypt()).status, 200);
    assert.match(
      ok(await cli('policy', 'simulate', '--keystore', 'demo', '--key', 'demo-key', '--principal', CLI_TEST)).stdout,
      /^wouldDeny\s+yes, by lock\/payments-only \(audit-only\)$/m,
    );

    assert.match(ok(await cli('policy', 'set-default', '--group', 'demo', 'deny')).stdout, /^default\s+deny$/m);
    assert.equal((await encrypt()).status, 403);
    assert.match(ok(await cli('policy', 'defaults')).stdout, /^demo\s+deny$/m);
    assert.equal((await health()).status, 200);
    ok(await cli('policy', 'set-default', '--group', 'demo', 'allow'));
    assert.equal((await encrypt()).status, 200);

    const enforce = writeJson('lock-enforce.json', { name: 'lock', rules: [{ effect: 'deny', principal: [CLI_TEST] }] });
    ok(await cli('policy', 'update', 'lock', '--file', enforce));
    assert.equal((await encrypt()).status, 403);
    assert.match(ok(await cli('policy', 'detach', 'lock')).stdout, /^attachedTo\s+\(nothing: applies nowhere\)$/m);
    assert.equal((await encrypt()).status, 200);
    assert.match(ok(await cli('policy', 'attach', 'lock', '--keystore', 'demo')).stdout, /^attachedTo\s+keystore demo$/m);
    assert.equal((await encrypt()).status, 403);
    ok(await cli('policy', 'attach', 'lock', '--group', 'demo'));
    assert.equal((await encrypt()).status, 403);
    assert.equal(ok(await cli('policy', 'delete', 'lock')).stdout, 'Deleted policy lock\n');
    assert.equal((await encrypt()).status, 200);
    assert.equal(ok(await cli('policy', 'list')).stdout, '(none)\n');
  });
});

describe('keyhold policy failures: one "keyhold: " line, non-zero exit, nothing changed', () => {
  before(async () => {
    const kept = await adminCall(suite.node, 'POST', '/policies', {
      name: 'kept',
      attach: { keystore: 'demo' },
      rules: [{ effect: 'deny', principal: ['arn:aws:iam::999999999999:*'] }],
    });
    assert.equal(kept.status, 201, kept.text);
    writeJson('typo.json', { name: 'typo', rules: [{ effect: 'deny', principals: ['x'] }] });
    writeJson('not-json.json', '{ "name": ');
    writeJson('kept.json', { name: 'kept', rules: [] });
    writeJson('renamed.json', { name: 'renamed', rules: [] });
  });
  const cases: [string, string[], RegExp][] = [
    ['unknown condition field', ['policy', 'create', '--file', 'typo.json'], /rules\[0\]\.principals: unknown field/],
    ['not JSON', ['policy', 'create', '--file', 'not-json.json'], /not-json\.json is not JSON/],
    ['missing file', ['policy', 'create', '--file', 'nope.json'], /cannot read nope\.json: ENOENT/],
    ['duplicate name', ['policy', 'create', '--file', 'kept.json'], /policy "kept" already exists/],
    ['rename by update', ['policy', 'update', 'kept', '--file', 'renamed.json'], /cannot be renamed/],
    ['unknown policy: show', ['policy', 'show', 'nope'], /no policy named "nope"/],
    ['unknown policy: delete', ['policy', 'delete', 'nope'], /no policy named "nope"/],
    ['attach with no target', ['policy', 'attach', 'kept'], /give --group G, or --keystore K, or --key ID --keystore K/],
    ['attach --key without --keystore', ['policy', 'attach', 'kept', '--key', 'demo-key'], /give --group G/],
    ['attach to an unknown key', ['policy', 'attach', 'kept', '--key', 'nope', '--keystore', 'demo'], /no key "nope" in keystore "demo"/],
    ['set-default maybe', ['policy', 'set-default', '--group', 'demo', 'maybe'], /the default is allow or deny, not "maybe"/],
    ['set-default unknown group', ['policy', 'set-default', '--group', 'nope', 'deny'], /no group named "nope"/],
    [
      'simulate an unknown operation',
      ['policy', 'simulate', '--keystore', 'demo', '--key', 'demo-key', '--operation', 'Sign', '--principal', CLI_TEST],
      /--operation is Encrypt, Decrypt or GetKeyMetadata/,
    ],
    [
      'simulate an unknown key',
      ['policy', 'simulate', '--keystore', 'demo', '--key', 'nope', '--principal', CLI_TEST],
      /no key "nope" in keystore "demo"/,
    ],
  ];
  failuresChangeNothing({ node: () => suite.node, cli, cases, listArgs: ['--json', 'policy', 'list'] });

  it('defaults are unchanged after the failures', async () => {
    assert.match(ok(await cli('policy', 'defaults')).stdout, /^demo\s+allow$/m);
  });
});
