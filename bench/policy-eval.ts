/**
 * Micro-benchmark of policy evaluation, the authorize stage of the XKS hot path.
 *
 *   node --import tsx bench/policy-eval.ts [--policies N] [--rules N] [--iterations N]
 *
 * Builds N policies × M rules (default 10 × 10; each rule with a principal glob, an account, a
 * kmsOperation list and, on every other rule, a kmsViaService glob and an `unless`), attached to the
 * group, the keystore and the key, and times one decision (request facts + evaluation) for requests
 * that (a) match no rule, so every rule is tested and the default decides (the worst case),
 * (b) are denied by the last policy's last rule, (c) are allowed by an early rule.
 * Prints µs of CPU (and of wall time, which a busy machine inflates) per decision, median of 5 rounds.
 */
import { parseArgs } from 'node:util';
import { decide } from '../src/policies/authorizer.js';
import type { PolicyRule } from '../src/policies/document.js';
import { validatePolicyDocument } from '../src/policies/document.js';
import { buildIndex, type AttachmentKind } from '../src/policies/evaluator.js';
import type { RequestMetadata } from '../src/xks/requests.js';

const { values } = parseArgs({
  options: {
    policies: { type: 'string', default: '10' },
    rules: { type: 'string', default: '10' },
    iterations: { type: 'string', default: '200000' },
  },
});
const policyCount = Number(values.policies);
const ruleCount = Number(values.rules);
const iterations = Number(values.iterations);

const scope = { groupId: 'group-1', keystoreId: 'keystore-1', keyId: 'key-1' };
const kinds: AttachmentKind[] = ['group', 'keystore', 'key'];
const policies = Array.from({ length: policyCount }, (_, p) => {
  const rules: PolicyRule[] = Array.from({ length: ruleCount }, (_, r) => ({
    id: `r${r}`,
    effect: p === policyCount - 1 && r === ruleCount - 1 ? 'deny' : r % 2 ? 'deny' : 'allow',
    principal: [`arn:aws:iam::${String(100000000000 + p * 100 + r)}:role/team-${r}-*`, `arn:aws:sts::*:assumed-role/p${p}r${r}/*`],
    account: [String(100000000000 + p * 100 + r)],
    kmsOperation: ['Encrypt', 'Decrypt', 'GenerateDataKey'],
    ...(r % 2 ? { kmsViaService: [`svc${r}.*.amazonaws.com`], unless: { sourceVpce: ['vpce-allowed-*'] } } : {}),
  }));
  const name = `policy-${p}`;
  validatePolicyDocument({ name, rules });
  const kind = kinds[p % 3]!;
  return {
    id: name,
    name,
    mode: 'enforce' as const,
    rules,
    attachKind: kind,
    attachId: kind === 'group' ? scope.groupId : kind === 'keystore' ? scope.keystoreId : scope.keyId,
  };
});
const index = buildIndex(policies, [[scope.groupId, 'deny']]);

const base = {
  kmsRequestId: 'bench',
  kmsOperation: 'Encrypt',
  kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};
const last = policyCount - 1;
const lastRule = ruleCount - 1;
const cases: [string, RequestMetadata][] = [
  [
    'no rule matches (every rule tested, default decides)',
    { ...base, awsPrincipalArn: 'arn:aws:iam::999999999999:role/nobody', kmsViaService: 'svc1.us-east-1.amazonaws.com' },
  ],
  [
    'denied by the last rule of the last policy',
    {
      ...base,
      awsPrincipalArn: `arn:aws:iam::${100000000000 + last * 100 + lastRule}:role/team-${lastRule}-x`,
      kmsViaService: `svc${lastRule}.us-east-1.amazonaws.com`,
    },
  ],
  ['allowed by the first rule', { ...base, awsPrincipalArn: 'arn:aws:iam::100000000000:role/team-0-app' }],
];

console.log(`policy evaluation: ${policyCount} policies × ${ruleCount} rules, ${iterations} decisions per round, median of 5 rounds`);
for (const [label, metadata] of cases) {
  const decision = decide(index, scope, metadata);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round < 6; round++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    for (let i = 0; i < iterations; i++) decide(index, scope, metadata);
    const used = process.cpuUsage(cpuStart);
    // The first round warms the JIT.
    if (round > 0) {
      wall.push(Number(process.hrtime.bigint() - start) / iterations / 1000);
      cpu.push((used.user + used.system) / iterations);
    }
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!.toFixed(2);
  console.log(
    `  ${label}: ${median(cpu)} µs CPU (${median(wall)} µs wall) per decision  → ${decision.allowed ? 'allow' : 'deny'} by ${decision.decidedBy}`,
  );
}
