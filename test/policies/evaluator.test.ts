import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicyDocument, type PolicyRule } from '../../src/policies/document.js';
import {
  accountOf,
  buildIndex,
  evaluate,
  regionOf,
  requestFacts,
  type AttachmentKind,
  type PolicyIndex,
  type TraceStep,
} from '../../src/policies/evaluator.js';
import { createPolicyAuthorizer, decide, PolicyRegistry } from '../../src/policies/authorizer.js';
import { ManagementError } from '../../src/core/errors.js';
import type { RequestMetadata } from '../../src/xks/requests.js';
import type { LiveKey, LiveKeystore } from '../../src/registry/live-state.js';

const SCOPE = { groupId: 'g1', keystoreId: 'ks1', keyId: 'k1' };
const APP = 'arn:aws:iam::111122223333:role/app';
const OTHER = 'arn:aws:iam::444455556666:role/intruder';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

const meta = (extra: Partial<RequestMetadata> = {}): RequestMetadata => ({
  awsPrincipalArn: APP,
  kmsKeyArn: KEY_ARN,
  kmsOperation: 'Encrypt',
  kmsRequestId: 'r-1',
  ...extra,
});

let ids = 0;
type Attached = { kind?: AttachmentKind; mode?: 'enforce' | 'audit-only'; name?: string; rules: PolicyRule[] };
function index(policies: Attached[], defaults: [string, 'allow' | 'deny'][] = []): PolicyIndex {
  return buildIndex(
    policies.map((p) => {
      const kind = p.kind ?? 'key';
      const name = p.name ?? `p${++ids}`;
      validatePolicyDocument({ name, mode: p.mode, rules: p.rules });
      return {
        id: name,
        name,
        mode: p.mode ?? 'enforce',
        rules: p.rules,
        attachKind: kind,
        attachId: kind === 'group' ? 'g1' : kind === 'keystore' ? 'ks1' : 'k1',
      };
    }),
    defaults,
  );
}
const run = (idx: PolicyIndex, m = meta(), trace?: TraceStep[]) => evaluate(idx, SCOPE, requestFacts(m), trace);

describe('policy evaluator', () => {
  it('with no policies and no default, allows (v0.1 behaviour) by default:allow', () => {
    assert.deepEqual(run(index([])), { allowed: true, decidedBy: 'default:allow' });
  });

  it('a group default of deny denies when no rule matches, by default:deny', () => {
    assert.deepEqual(run(index([], [['g1', 'deny']])), { allowed: false, decidedBy: 'default:deny' });
    // Another group's default does not apply.
    assert.equal(run(index([], [['g2', 'deny']])).allowed, true);
  });

  it('principal wildcards: * spans any run, ? exactly one character, anchored at both ends', () => {
    const idx = index(
      [
        {
          name: 'w',
          rules: [
            { effect: 'allow', principal: ['arn:aws:iam::111122223333:role/ap?'] },
            { effect: 'allow', id: 'star', principal: ['arn:aws:iam::*:role/batch-*'] },
          ],
        },
      ],
      [['g1', 'deny']],
    );
    assert.equal(run(idx).decidedBy, 'w/rule-1');
    assert.equal(run(idx, meta({ awsPrincipalArn: `${APP}x` })).allowed, false, '? is one character, not more');
    assert.equal(run(idx, meta({ awsPrincipalArn: 'arn:aws:iam::999999999999:role/batch-nightly' })).decidedBy, 'w/star');
    assert.equal(run(idx, meta({ awsPrincipalArn: 'xarn:aws:iam::999999999999:role/batch-1' })).allowed, false, 'anchored at the start');
    // Regex metacharacters in patterns are literal.
    const dots = index([{ rules: [{ effect: 'allow', kmsViaService: ['ec2.us-east-1.amazonaws.com'] }] }], [['g1', 'deny']]);
    assert.equal(run(dots, meta({ kmsViaService: 'ec2xus-east-1.amazonaws.com' })).allowed, false);
    assert.equal(run(dots, meta({ kmsViaService: 'ec2.us-east-1.amazonaws.com' })).allowed, true);
  });

  it('deny wins over allow, whichever comes first and wherever it is attached', () => {
    const idx = index([
      { kind: 'key', name: 'allow-app', rules: [{ effect: 'allow', principal: [APP] }] },
      { kind: 'group', name: 'no-encrypt', rules: [{ effect: 'deny', kmsOperation: ['Encrypt'] }] },
    ]);
    assert.deepEqual(run(idx), { allowed: false, decidedBy: 'no-encrypt/rule-1', policy: 'no-encrypt' });
    assert.deepEqual(run(idx, meta({ kmsOperation: 'Decrypt' })), { allowed: true, decidedBy: 'allow-app/rule-1', policy: 'allow-app' });
  });

  it('a rule matches only when every condition it names matches (AND), each a list of alternatives (OR)', () => {
    const idx = index(
      [{ name: 'and', rules: [{ effect: 'allow', account: ['111122223333'], kmsOperation: ['Encrypt', 'Decrypt'], region: ['eu-*'] }] }],
      [['g1', 'deny']],
    );
    assert.equal(run(idx).allowed, true);
    assert.equal(run(idx, meta({ kmsOperation: 'Decrypt' })).allowed, true);
    assert.equal(run(idx, meta({ kmsOperation: 'ReEncrypt' })).allowed, false);
    assert.equal(run(idx, meta({ awsPrincipalArn: OTHER })).allowed, false, 'account derived from the principal');
    assert.equal(
      run(idx, meta({ kmsKeyArn: KEY_ARN.replace('eu-west-1', 'us-east-1') })).allowed,
      false,
      'region derived from the key ARN',
    );
  });

  it('a condition on a field KMS did not send never matches, not even "*": an allow does not apply, a deny does not either', () => {
    const allowVpce = index([{ name: 'vpce', rules: [{ effect: 'allow', sourceVpce: ['*'] }] }], [['g1', 'deny']]);
    assert.deepEqual(run(allowVpce), { allowed: false, decidedBy: 'default:deny' });
    assert.equal(run(allowVpce, meta({ awsSourceVpce: 'vpce-0123' })).allowed, true);
    const denyVia = index([{ name: 'via', rules: [{ effect: 'deny', kmsViaService: ['*'] }] }]);
    assert.equal(run(denyVia).allowed, true);
    assert.equal(run(denyVia, meta({ kmsViaService: 's3.eu-west-1.amazonaws.com' })).allowed, false);
    // No principal (health-style metadata): account and principal conditions do not match.
    const acct = index([{ rules: [{ effect: 'allow', account: ['*'] }] }], [['g1', 'deny']]);
    assert.equal(run(acct, { kmsOperation: 'Encrypt', kmsRequestId: 'x' }).allowed, false);
  });

  it('unless: deny everyone except one principal limits a key to one caller without touching the group default', () => {
    const idx = index([{ name: 'lock', rules: [{ id: 'only-app', effect: 'deny', unless: { principal: [APP] } }] }]);
    assert.deepEqual(run(idx), { allowed: true, decidedBy: 'default:allow' });
    assert.deepEqual(run(idx, meta({ awsPrincipalArn: OTHER })), { allowed: false, decidedBy: 'lock/only-app', policy: 'lock' });
    assert.equal(run(idx, meta({ awsPrincipalArn: undefined })).allowed, false, 'an absent principal is not the allowed one');
  });

  it('an unknown kmsOperation is just a value: denied by a rule (403 at the handler), allowed when no rule says otherwise', () => {
    const allowList = index(
      [{ name: 'ops', rules: [{ effect: 'allow', kmsOperation: ['Encrypt', 'Decrypt', 'GenerateDataKey'] }] }],
      [['g1', 'deny']],
    );
    assert.deepEqual(run(allowList, meta({ kmsOperation: 'BulkEncrypt' })), { allowed: false, decidedBy: 'default:deny' });
    assert.equal(run(index([]), meta({ kmsOperation: 'BulkEncrypt' })).allowed, true);
  });

  it('audit-only policies never deny; when they would, the decision says so and names the rule', () => {
    const idx = index([
      { name: 'enforced', rules: [{ effect: 'allow', principal: ['*'] }] },
      { name: 'rollout', mode: 'audit-only', rules: [{ effect: 'deny', id: 'no-other', unless: { account: ['111122223333'] } }] },
    ]);
    assert.deepEqual(run(idx), { allowed: true, decidedBy: 'enforced/rule-1', policy: 'enforced' });
    assert.deepEqual(run(idx, meta({ awsPrincipalArn: OTHER })), {
      allowed: true,
      decidedBy: 'enforced/rule-1',
      policy: 'enforced',
      wouldDeny: true,
      wouldDenyBy: 'rollout/no-other',
      wouldDenyPolicy: 'rollout',
    });
    // An audit-only allow-list under a deny default: would deny whatever it does not list.
    const allowList = index([{ name: 'list', mode: 'audit-only', rules: [{ effect: 'allow', principal: [APP] }] }], [['g1', 'allow']]);
    assert.equal(run(allowList).wouldDeny, undefined);
    // With default allow, an audit-only allow-list cannot deny anything: the default still allows.
    assert.equal(run(allowList, meta({ awsPrincipalArn: OTHER })).wouldDeny, undefined);
    const strict = index(
      [
        { name: 'list', mode: 'audit-only', rules: [{ effect: 'allow', principal: [APP] }] },
        { name: 'open', rules: [{ effect: 'allow', account: ['*'] }] },
      ],
      [['g1', 'deny']],
    );
    assert.equal(run(strict, meta({ awsPrincipalArn: OTHER })).wouldDeny, undefined, 'the enforced allow still allows in the rehearsal');
  });

  it('policies attached elsewhere (another key, keystore or group) do not apply', () => {
    const idx = buildIndex([{ id: 'x', name: 'x', mode: 'enforce', rules: [{ effect: 'deny' }], attachKind: 'key', attachId: 'k2' }], []);
    assert.equal(run(idx).allowed, true);
    const detached = buildIndex([{ id: 'y', name: 'y', mode: 'enforce', rules: [{ effect: 'deny' }] }], []);
    assert.equal(run(detached).allowed, true);
  });

  it('a rule without conditions matches every request (deny-all)', () => {
    assert.deepEqual(run(index([{ name: 'all', rules: [{ effect: 'deny' }] }])), {
      allowed: false,
      decidedBy: 'all/rule-1',
      policy: 'all',
    });
  });

  it('the trace lists every rule with whether it matched and the first condition that did not', () => {
    const trace: TraceStep[] = [];
    run(
      index([
        {
          kind: 'keystore',
          name: 't',
          rules: [
            { effect: 'allow', principal: [APP], kmsOperation: ['Decrypt'] },
            { effect: 'deny', unless: { principal: [APP] } },
          ],
        },
      ]),
      meta(),
      trace,
    );
    assert.deepEqual(trace, [
      { policy: 't', mode: 'enforce', attachedTo: 'keystore', rule: 't/rule-1', effect: 'allow', matched: false, mismatch: 'kmsOperation' },
      { policy: 't', mode: 'enforce', attachedTo: 'keystore', rule: 't/rule-2', effect: 'deny', matched: false, mismatch: 'unless' },
    ]);
  });

  it('account and region come from the ARNs (iam and sts, any partition); service principals have no account', () => {
    assert.equal(accountOf('arn:aws:sts::111122223333:assumed-role/app/session'), '111122223333');
    assert.equal(accountOf('arn:aws-us-gov:iam::111122223333:user/x'), '111122223333');
    assert.equal(accountOf('dynamodb.amazonaws.com'), undefined);
    assert.equal(accountOf('AWS Internal'), undefined);
    assert.equal(accountOf('arn:aws:s3:::bucket'), undefined);
    assert.equal(regionOf(KEY_ARN), 'eu-west-1');
    assert.equal(regionOf('arn:aws:iam::111122223333:role/x'), undefined);
  });

  it('the authorizer names the denying rule and what it saw, and reports audit-only would-denies', () => {
    const registry = new PolicyRegistry();
    const authorizer = createPolicyAuthorizer(registry);
    const request = (m: RequestMetadata) => ({
      keystore: { keystore: { id: 'ks1' } } as LiveKeystore,
      key: { record: { id: 'k1', groupId: 'g1' } } as LiveKey,
      operation: 'Encrypt' as const,
      metadata: m,
    });
    assert.deepEqual(authorizer.authorize(request(meta())), { allowed: true, ruleId: 'default:allow' });
    registry.replace(
      index([
        { name: 'lock', rules: [{ id: 'only-app', effect: 'deny', unless: { principal: [APP] } }] },
        { name: 'soon', mode: 'audit-only', rules: [{ effect: 'deny', kmsOperation: ['Encrypt'] }] },
      ]),
    );
    const denied = authorizer.authorize(request(meta({ awsPrincipalArn: OTHER })));
    assert.equal(denied.allowed, false);
    assert.equal(denied.ruleId, 'lock/only-app');
    assert.match(
      denied.detail!,
      /rule lock\/only-app of policy lock.*principal arn:aws:iam::444455556666:role\/intruder.*kmsOperation Encrypt/,
    );
    assert.deepEqual(authorizer.authorize(request(meta())), { allowed: true, ruleId: 'soon/rule-1', wouldDeny: true });
    assert.deepEqual(decide(registry.current, SCOPE, meta({ kmsOperation: 'Decrypt' })).decidedBy, 'default:allow');
  });
});

describe('policy documents', () => {
  const bad: [string, unknown, RegExp][] = [
    ['unknown condition', { name: 'p', rules: [{ effect: 'allow', principals: ['x'] }] }, /^rules\[0\]\.principals: unknown field/],
    ['bad effect', { name: 'p', rules: [{ effect: 'maybe' }] }, /^rules\[0\]\.effect must be one of allow, deny$/],
    [
      'short account',
      { name: 'p', rules: [{ effect: 'allow', account: ['12'] }] },
      /^rules\[0\]\.account\[0\]: "12" is not a 12-digit AWS account id/,
    ],
    ['region with a space', { name: 'p', rules: [{ effect: 'allow', region: ['US EAST'] }] }, /^rules\[0\]\.region\[0\]/],
    [
      'empty pattern list',
      { name: 'p', rules: [{ effect: 'allow', principal: [] }] },
      /^rules\[0\]\.principal must NOT have fewer than 1 items$/,
    ],
    ['a string, not a list', { name: 'p', rules: [{ effect: 'allow', principal: 'x' }] }, /^rules\[0\]\.principal must be array$/],
    ['no name', { rules: [] }, /^name is required$/],
    ['bad name', { name: 'a b', rules: [] }, /^name must be/],
    ['key without keystore', { name: 'p', attach: { key: 'k' }, rules: [] }, /^attach must be/],
    ['bad mode', { name: 'p', mode: 'dry-run', rules: [] }, /^mode must be one of enforce, audit-only$/],
    [
      'duplicate rule id',
      { name: 'p', rules: [{ effect: 'allow', id: 'rule-2' }, { effect: 'deny' }] },
      /^rules\[1\]\.id "rule-2" is used by another rule/,
    ],
    ['empty unless', { name: 'p', rules: [{ effect: 'deny', unless: {} }] }, /^rules\[0\]\.unless must NOT have fewer than 1 properties$/],
    [
      'a control character in a principal',
      { name: 'p', rules: [{ effect: 'deny', principal: ['arn:aws:iam::1\tx'] }] },
      /^rules\[0\]\.principal\[0\]/,
    ],
  ];
  for (const [label, document, message] of bad) {
    it(`refuses ${label} in one line naming the field`, () => {
      assert.throws(
        () => validatePolicyDocument(document),
        (error: unknown) =>
          error instanceof ManagementError && error.kind === 'invalid' && message.test(error.message) && !error.message.includes('\n'),
      );
    });
  }

  it('accepts account wildcards that can match 12 digits', () => {
    for (const account of ['*', '111122223333', '1111????????', '1111*'])
      validatePolicyDocument({ name: 'p', rules: [{ effect: 'allow', account: [account] }] });
  });
});
