/**
 * Policies end to end: a real node over HTTPS, requests signed by the independent test signers,
 * policies written through the admin API.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import type { PolicyView, SimulationResult } from '../../src/policies/service.js';
import { answerAs, bodyOf, errorOf } from '../helpers/admin-json.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, encryptBody, healthBody, metadata, xks, type XksResponse } from '../helpers/xks-client.js';

let node: TestNode;
before(async () => {
  node = await startTestNode();
  const second = await admin(node, 'POST', '/keys', { id: 'second-key', keystore: 'demo' });
  assert.equal(second.status, 201, second.text);
});
after(() => node.close());

const APP = 'arn:aws:iam::111122223333:role/app';
const OTHER = 'arn:aws:iam::444455556666:role/intruder';

function expectOk(response: XksResponse, status = 200): XksResponse {
  assert.equal(response.status, status, response.text);
  return response;
}

/** No policies, group default allow: the state every test starts from. */
async function reset(): Promise<void> {
  const list = bodyOf<PolicyView[]>(await admin(node, 'GET', '/policies'));
  for (const policy of list) expectOk(await admin(node, 'DELETE', `/policies/${policy.name}`), 204);
  expectOk(await admin(node, 'PUT', '/policy-defaults/demo', { default: 'allow' }));
}
beforeEach(reset);

const createPolicy = async (document: unknown) => bodyOf<PolicyView>(await admin(node, 'POST', '/policies', document), 201);
/** What the simulate route answers. */
const simulate = async (input: Record<string, unknown>) => bodyOf<SimulationResult>(await admin(node, 'POST', '/policies/simulate', input));

/** An XKS error answer (the fields these tests read). */
type XksErrorBody = { errorName: string; errorMessage: string };

/** An Encrypt (or GetKeyMetadata) with the given metadata; returns the response and the node's log line for it. */
async function call(extra: Record<string, unknown>, options: { operation?: 'encrypt' | 'metadata'; keyId?: string } = {}) {
  const requestMetadata = metadata(options.operation === 'metadata' ? 'DescribeKey' : 'Encrypt', extra);
  const body = options.operation === 'metadata' ? { requestMetadata } : { ...encryptBody(randomBytes(16)), requestMetadata };
  const response = await xks(node, { operation: options.operation ?? 'encrypt', keyId: options.keyId, body });
  const log = node.logs.find((line) => line.event === 'xks.request' && line.kmsRequestId === requestMetadata.kmsRequestId);
  assert.ok(log, 'the request was logged');
  return { response, log };
}

function expectDenied(response: XksResponse): void {
  assert.equal(response.status, 403, response.text);
  assert.equal(answerAs<XksErrorBody>(response).json.errorName, 'AccessDeniedException');
}

describe('policies on the XKS data plane', () => {
  it('62: health passes even with deny-all policies on the group, the keystore and the key and a deny default', async () => {
    for (const attach of [{ group: 'demo' }, { keystore: 'demo' }, { key: 'demo-key', keystore: 'demo' }]) {
      await createPolicy({ name: `deny-all-${Object.keys(attach).join('-')}`, attach, rules: [{ effect: 'deny' }] });
    }
    expectOk(await admin(node, 'PUT', '/policy-defaults/demo', { default: 'deny' }));
    const health = await xks(node, { operation: 'health', body: healthBody() });
    assert.equal(health.status, 200, health.text);
    assert.equal(answerAs<{ ekmFleetDetails: { healthStatus: string }[] }>(health).json.ekmFleetDetails[0]?.healthStatus, 'ACTIVE');
    expectDenied((await call({}, { operation: 'metadata' })).response);
  });

  it('93: an allow-list limits a key to one AWS principal; other keys of the keystore are not affected', async () => {
    await createPolicy({
      name: 'demo-key-app-only',
      attach: { key: 'demo-key', keystore: 'demo' },
      rules: [{ id: 'only-app', effect: 'deny', unless: { principal: [APP] } }],
    });
    expectOk((await call({ awsPrincipalArn: APP })).response);
    expectDenied((await call({ awsPrincipalArn: OTHER })).response);
    expectDenied((await call({ awsPrincipalArn: 'arn:aws:iam::111122223333:role/app-evil' })).response);
    expectOk((await call({ awsPrincipalArn: OTHER }, { keyId: 'second-key' })).response);
    // The same with a group default of deny and an allow rule instead of an exception.
    await reset();
    expectOk(await admin(node, 'PUT', '/policy-defaults/demo', { default: 'deny' }));
    await createPolicy({
      name: 'allow-app',
      attach: { key: 'demo-key', keystore: 'demo' },
      rules: [{ effect: 'allow', principal: ['arn:aws:iam::111122223333:role/app'] }],
    });
    expectOk((await call({ awsPrincipalArn: APP })).response);
    expectDenied((await call({ awsPrincipalArn: OTHER })).response);
    expectDenied((await call({ awsPrincipalArn: APP }, { keyId: 'second-key' })).response);
  });

  it('94/95: a denial answers 403 AccessDeniedException, and its log line names the rule, its policy and what it saw', async () => {
    await createPolicy({
      name: 'no-s3',
      attach: { keystore: 'demo' },
      rules: [{ id: 'deny-s3-via', effect: 'deny', kmsViaService: ['s3.*.amazonaws.com'] }],
    });
    const { response, log } = await call({ awsPrincipalArn: OTHER, kmsViaService: 's3.us-east-1.amazonaws.com' });
    expectDenied(response);
    assert.equal(
      answerAs<XksErrorBody>(response).json.errorMessage.includes('deny-s3-via'),
      false,
      'the rule is for the log, not for the caller',
    );
    assert.equal(log.policyRuleId, 'no-s3/deny-s3-via');
    assert.equal(log.status, 403);
    assert.equal(log.errorName, 'AccessDeniedException');
    assert.match(
      String(log.reason),
      /denied by rule no-s3\/deny-s3-via of policy no-s3 \(principal arn:aws:iam::444455556666:role\/intruder, kmsOperation Encrypt\)/,
    );
    assert.equal(log.kmsViaService, 's3.us-east-1.amazonaws.com');
    // Denied by the group default: the log says so.
    expectOk(await admin(node, 'PUT', '/policy-defaults/demo', { default: 'deny' }));
    const byDefault = await call({ kmsViaService: 'ec2.us-east-1.amazonaws.com' });
    expectDenied(byDefault.response);
    assert.equal(byDefault.log.policyRuleId, 'default:deny');
    assert.match(String(byDefault.log.reason), /no policy rule allowed it and the group default is deny/);
  });

  it('92: conditions over requestMetadata (VPC, VPC endpoint, key ARN, region, account); an unknown kmsOperation is denied by policy with 403, never 400', async () => {
    expectOk(await admin(node, 'PUT', '/policy-defaults/demo', { default: 'deny' }));
    await createPolicy({
      name: 'known-ops',
      attach: { group: 'demo' },
      rules: [
        {
          id: 'crypto-from-vpce',
          effect: 'allow',
          kmsOperation: ['Encrypt', 'Decrypt'],
          sourceVpce: ['vpce-0a1b*'],
          region: ['us-east-1'],
        },
        { id: 'describe', effect: 'allow', kmsOperation: ['DescribeKey'], account: ['111122223333'] },
        { id: 'not-that-vpc', effect: 'deny', sourceVpc: ['vpc-bad'] },
        { id: 'not-that-key', effect: 'deny', kmsKeyArn: ['arn:aws:kms:*:*:key/dead*'] },
      ],
    });
    expectOk((await call({ awsSourceVpce: 'vpce-0a1b2c', awsSourceVpc: 'vpc-good' })).response);
    expectDenied((await call({})).response); // no VPC endpoint sent: the condition does not match
    expectDenied((await call({ awsSourceVpce: 'vpce-0a1b2c', awsSourceVpc: 'vpc-bad' })).response);
    expectDenied((await call({ awsSourceVpce: 'vpce-0a1b2c', kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/deadbeef' })).response);
    expectDenied((await call({ awsSourceVpce: 'vpce-0a1b2c', kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234' })).response);
    expectOk((await call({}, { operation: 'metadata' })).response);
    expectDenied((await call({ awsPrincipalArn: OTHER }, { operation: 'metadata' })).response);
    const bulk = await call({ kmsOperation: 'BulkEncrypt', awsSourceVpce: 'vpce-0a1b2c' });
    expectDenied(bulk.response);
    assert.equal(bulk.log.policyRuleId, 'default:deny');
    // With no policy in the way, the unknown operation is served.
    await reset();
    expectOk((await call({ kmsOperation: 'BulkEncrypt' })).response);
  });

  it('a policy changed through the admin API applies to the very next request', async () => {
    const id = 'flip';
    await createPolicy({ name: id, attach: { keystore: 'demo' }, rules: [{ effect: 'deny', principal: [OTHER] }] });
    expectDenied((await call({ awsPrincipalArn: OTHER })).response);
    expectOk(await admin(node, 'PUT', `/policies/${id}`, { name: id, rules: [{ effect: 'deny', principal: [APP] }] }));
    expectOk((await call({ awsPrincipalArn: OTHER })).response);
    expectDenied((await call({ awsPrincipalArn: APP })).response);
    expectOk(await admin(node, 'POST', `/policies/${id}/attach`, { key: 'second-key', keystore: 'demo' }));
    expectOk((await call({ awsPrincipalArn: APP })).response);
    expectDenied((await call({ awsPrincipalArn: APP }, { keyId: 'second-key' })).response);
    expectOk(await admin(node, 'POST', `/policies/${id}/detach`));
    expectOk((await call({ awsPrincipalArn: APP }, { keyId: 'second-key' })).response);
    expectOk(await admin(node, 'POST', `/policies/${id}/attach`, { group: 'demo' }));
    expectDenied((await call({ awsPrincipalArn: APP })).response);
    expectOk(await admin(node, 'DELETE', `/policies/${id}`), 204);
    expectOk((await call({ awsPrincipalArn: APP })).response);
  });

  it('an audit-only policy denies nothing; the log line records the rule that would have denied', async () => {
    await createPolicy({
      name: 'rollout',
      mode: 'audit-only',
      attach: { keystore: 'demo' },
      rules: [{ id: 'app-only', effect: 'deny', unless: { principal: [APP] } }],
    });
    const would = await call({ awsPrincipalArn: OTHER });
    expectOk(would.response);
    assert.equal(would.log.policyWouldDeny, true);
    assert.equal(would.log.policyRuleId, 'rollout/app-only');
    const fine = await call({ awsPrincipalArn: APP });
    expectOk(fine.response);
    assert.equal(fine.log.policyWouldDeny, undefined);
    assert.equal(fine.log.policyRuleId, 'default:allow');
  });
});

describe('policies admin API', () => {
  it('bad documents get 400 with one line naming the field, unknown names 404, duplicates 409, and nothing changes', async () => {
    await createPolicy({ name: 'keep', rules: [{ effect: 'allow' }] });
    const before = (await admin(node, 'GET', '/policies')).text;
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/policies', { name: 'p', rules: [{ effect: 'allow', principals: ['x'] }] }, 400, /^rules\[0\]\.principals: unknown field/],
      ['POST', '/policies', { name: 'p', rules: [{ effect: 'allow', account: ['12'] }] }, 400, /^rules\[0\]\.account\[0\]/],
      [
        'POST',
        '/policies',
        { name: 'p', rules: [{ effect: 'allow', principal: 'arn:aws:iam::111122223333:root' }] },
        400,
        /^rules\[0\]\.principal must be array$/,
      ],
      ['POST', '/policies', [], 400, /body must be object/],
      ['POST', '/policies', { name: 'keep', rules: [] }, 409, /policy "keep" already exists/],
      ['POST', '/policies', { name: 'p', attach: { keystore: 'nope' }, rules: [] }, 404, /no keystore named "nope"/],
      ['PUT', '/policies/keep', { name: 'other', rules: [] }, 400, /cannot be renamed/],
      ['PUT', '/policies/nope', { name: 'nope', rules: [] }, 404, /no policy named "nope"/],
      ['POST', '/policies/keep/attach', { key: 'demo-key' }, 400, /^attach must be/],
      ['POST', '/policies/keep/attach', { key: 'nope', keystore: 'demo' }, 404, /no key "nope" in keystore "demo"/],
      ['DELETE', '/policies/nope', undefined, 404, /no policy named "nope"/],
      ['PUT', '/policy-defaults/demo', { default: 'maybe' }, 400, /body\/default must be equal to one of the allowed values/],
      ['PUT', '/policy-defaults/nope', { default: 'deny' }, 404, /no group named "nope"/],
      // The health canary's internal group takes no policies.
      ['PUT', '/policy-defaults/__system', { default: 'deny' }, 404, /no group named "__system"/],
      ['POST', '/policies/keep/attach', { group: '__system' }, 404, /no group named "__system"/],
      ['POST', '/policies/simulate', { keystore: 'demo', keyId: 'demo-key', operation: 'Sign' }, 400, /operation/],
      ['POST', '/policies/simulate', { keystore: 'demo', keyId: 'nope', operation: 'Encrypt' }, 404, /no key "nope" in keystore "demo"/],
      [
        'POST',
        '/policies/simulate',
        { keystore: 'demo', keyId: 'demo-key', operation: 'Encrypt', requestMetadata: { awsPrincipalArn: 7 } },
        400,
        /requestMetadata\.awsPrincipalArn must be a string/,
      ],
    ];
    for (const [method, path, body, status, message] of cases) {
      const response = await admin(node, method, path, body);
      assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
      assert.match(errorOf(response), message);
      assert.equal(errorOf(response).includes('\n'), false);
    }
    assert.equal((await admin(node, 'GET', '/policies')).text, before);
    assert.deepEqual((await admin(node, 'GET', '/policy-defaults')).json, [{ group: 'demo', default: 'allow' }]);
  });

  it('simulate answers "allowed, and by which rule" with a trace, without a request reaching the data plane', async () => {
    await createPolicy({
      name: 'lock',
      attach: { key: 'demo-key', keystore: 'demo' },
      rules: [{ id: 'only-app', effect: 'deny', unless: { principal: [APP] } }],
    });
    const xksLines = node.logs.filter((l) => l.event === 'xks.request').length;
    const denied = await simulate({
      keystore: 'demo',
      keyId: 'demo-key',
      operation: 'Encrypt',
      requestMetadata: { awsPrincipalArn: OTHER },
    });
    assert.deepEqual(denied, {
      allowed: false,
      decidedBy: 'lock/only-app',
      policy: 'lock',
      trace: [{ policy: 'lock', mode: 'enforce', attachedTo: 'key', rule: 'lock/only-app', effect: 'deny', matched: true }],
    });
    const allowed = await simulate({
      keystore: 'demo',
      keyId: 'demo-key',
      operation: 'GetKeyMetadata',
      requestMetadata: { awsPrincipalArn: APP },
    });
    assert.equal(allowed.allowed, true);
    assert.equal(allowed.decidedBy, 'default:allow');
    assert.equal(node.logs.filter((l) => l.event === 'xks.request').length, xksLines);
  });
});

describe('simulate agrees with the data plane', () => {
  const principals = [APP, OTHER, 'arn:aws:sts::111122223333:assumed-role/app/session-1', 'dynamodb.amazonaws.com', 'AWS Internal'];
  const principalPatterns = [...principals, 'arn:aws:iam::*', 'arn:aws:*::111122223333:*', '*', 'arn:aws:iam::111122223333:role/ap?'];
  const operations = ['Encrypt', 'DescribeKey', 'BulkEncrypt'];
  const vias = ['ec2.us-east-1.amazonaws.com', 's3.us-east-1.amazonaws.com'];
  const subset = <T>(values: T[]) => fc.option(fc.subarray(values, { minLength: 1 }), { nil: undefined });
  const conditions = fc.record(
    {
      principal: subset(principalPatterns),
      account: subset(['111122223333', '444455556666', '*']),
      kmsOperation: subset([...operations, '*Encrypt']),
      kmsViaService: subset([...vias, '*']),
      sourceVpce: subset(['vpce-1', 'vpce-*']),
    },
    { requiredKeys: [] },
  );
  const clean = (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  const rule = fc.record({ effect: fc.constantFrom('allow', 'deny'), when: conditions, unless: fc.option(conditions, { nil: undefined }) });
  const policy = fc.record({
    mode: fc.constantFrom('enforce', 'enforce', 'audit-only'),
    attach: fc.constantFrom(
      { group: 'demo' },
      { keystore: 'demo' },
      { key: 'demo-key', keystore: 'demo' },
      { key: 'second-key', keystore: 'demo' },
    ),
    rules: fc.array(rule, { minLength: 1, maxLength: 4 }),
  });
  const request = fc.record({
    awsPrincipalArn: fc.constantFrom(...principals),
    kmsOperation: fc.constantFrom(...operations),
    kmsViaService: fc.option(fc.constantFrom(...vias), { nil: undefined }),
    awsSourceVpce: fc.option(fc.constantFrom('vpce-1', 'vpce-2'), { nil: undefined }),
  });

  it('on generated policies and requests: same allow/deny, same rule, same would-deny', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(policy, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('allow', 'deny'),
        fc.array(request, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('encrypt', 'metadata'),
        async (policies, fallback, requests, operation) => {
          await reset();
          expectOk(await admin(node, 'PUT', '/policy-defaults/demo', { default: fallback }));
          for (const [i, p] of policies.entries()) {
            const rules = p.rules.map((r) => ({
              effect: r.effect,
              ...clean(r.when),
              ...(r.unless && Object.keys(clean(r.unless)).length ? { unless: clean(r.unless) } : {}),
            }));
            await createPolicy({ name: `gen-${i}`, mode: p.mode, attach: p.attach, rules });
          }
          for (const r of requests) {
            const requestMetadata = clean({ ...r, kmsRequestId: randomUUID() });
            const simulated = await simulate({
              keystore: 'demo',
              keyId: 'demo-key',
              operation: operation === 'encrypt' ? 'Encrypt' : 'GetKeyMetadata',
              requestMetadata,
            });
            const { response, log } = await call(requestMetadata, { operation: operation });
            assert.equal(response.status, simulated.allowed ? 200 : 403, `${JSON.stringify(simulated)} vs ${response.text}`);
            assert.equal(log.policyRuleId, simulated.wouldDeny ? simulated.wouldDenyBy : simulated.decidedBy);
            assert.equal(log.policyWouldDeny, simulated.wouldDeny);
          }
        },
      ),
      { numRuns: 40, seed: 20261128 },
    );
  });
});
