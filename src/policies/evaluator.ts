import type { RequestMetadata } from '../xks/requests.js';
import {
  CONDITION_FIELDS,
  ruleIdOf,
  type ConditionField,
  type Conditions,
  type Effect,
  type PolicyMode,
  type PolicyRule,
} from './document.js';

/**
 * Policy evaluation for the XKS hot path: documents are compiled once (exact-match sets and one
 * precompiled RegExp per condition) into an immutable index; a decision reads only that index.
 */

/**
 * The values a request offers to the conditions, in CONDITION_FIELDS order (read by position on the hot
 * path); the derived fields (account, region) come from the ARNs. An absent field is undefined.
 */
export type RequestFacts = readonly (string | undefined)[];

/**
 *= docs/requirements.md#authorization-logging-operations
 *# 92. [MAY] A secondary authorization layer decides on `requestMetadata` or the `Authorization` header.
 */
export function requestFacts(metadata: RequestMetadata): RequestFacts {
  // The order of CONDITION_FIELDS: principal, account, kmsOperation, kmsViaService, sourceVpc, sourceVpce, kmsKeyArn, region.
  return [
    metadata.awsPrincipalArn,
    accountOf(metadata.awsPrincipalArn),
    metadata.kmsOperation,
    metadata.kmsViaService,
    metadata.awsSourceVpc,
    metadata.awsSourceVpce,
    metadata.kmsKeyArn,
    regionOf(metadata.kmsKeyArn),
  ];
}

/** The account of `arn:aws:iam::ACCOUNT:…` or `arn:aws:sts::ACCOUNT:…` (any partition); undefined for service principals. */
export function accountOf(arn: string | undefined): string | undefined {
  if (arn === undefined || !arn.startsWith('arn:')) return undefined;
  const parts = arn.split(':', 6);
  if (parts.length < 6 || (parts[2] !== 'iam' && parts[2] !== 'sts')) return undefined;
  const account = parts[4];
  return account !== undefined && /^\d{12}$/.test(account) ? account : undefined;
}

/** The region of `arn:aws:kms:REGION:ACCOUNT:key/…`. */
export function regionOf(arn: string | undefined): string | undefined {
  if (arn === undefined || !arn.startsWith('arn:')) return undefined;
  const parts = arn.split(':', 6);
  return parts.length >= 6 && parts[2] === 'kms' && parts[3] ? parts[3] : undefined;
}

/** One condition's patterns: values without wildcards in a Set, the others in one anchored RegExp. */
interface Matcher {
  field: ConditionField;
  /** The field's position in CONDITION_FIELDS: facts are read by index on the hot path. */
  slot: number;
  exact: Set<string>;
  glob?: RegExp;
}

const escapeRegExp = (text: string) => text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
const globSource = (pattern: string) => escapeRegExp(pattern).replace(/\*/g, '.*').replace(/\?/g, '.');

export function compileMatcher(field: ConditionField, patterns: string[]): Matcher {
  const exact = new Set(patterns.filter((p) => !/[*?]/.test(p)));
  const globs = patterns.filter((p) => /[*?]/.test(p));
  return {
    field,
    slot: CONDITION_FIELDS.indexOf(field),
    exact,
    glob: globs.length ? new RegExp(`^(?:${globs.map(globSource).join('|')})$`, 's') : undefined,
  };
}

/** An absent field never matches a condition, whatever its patterns (even `*`). */
function matches(matcher: Matcher, facts: RequestFacts): boolean {
  const value = facts[matcher.slot];
  if (value === undefined) return false;
  return matcher.exact.has(value) || (matcher.glob !== undefined && matcher.glob.test(value));
}

/** Exact-match conditions first: a Set lookup that fails spares the regular expressions after it. */
function compileConditions(conditions: Conditions): Matcher[] {
  const matchers = CONDITION_FIELDS.flatMap((field) => {
    const patterns = conditions[field];
    return patterns === undefined ? [] : [compileMatcher(field, patterns)];
  });
  return [...matchers.filter((m) => !m.glob), ...matchers.filter((m) => m.glob)];
}

export interface CompiledRule {
  /** `policy-name/rule-id`, the name logs and audit events carry. */
  id: string;
  effect: Effect;
  when: Matcher[];
  unless?: Matcher[];
}

export interface CompiledPolicy {
  id: string;
  name: string;
  mode: PolicyMode;
  rules: CompiledRule[];
}

export function compilePolicy(policy: { id: string; name: string; mode: PolicyMode; rules: PolicyRule[] }): CompiledPolicy {
  return {
    id: policy.id,
    name: policy.name,
    mode: policy.mode,
    rules: policy.rules.map((rule, i) => ({
      id: `${policy.name}/${ruleIdOf(rule, i)}`,
      effect: rule.effect,
      when: compileConditions(rule),
      unless: rule.unless ? compileConditions(rule.unless) : undefined,
    })),
  };
}

/** The first condition that does not match, or undefined when the rule applies. */
function mismatch(rule: CompiledRule, facts: RequestFacts): string | undefined {
  for (const matcher of rule.when) if (!matches(matcher, facts)) return matcher.field;
  if (rule.unless && rule.unless.every((matcher) => matches(matcher, facts))) return 'unless';
  return undefined;
}

export type AttachmentKind = 'group' | 'keystore' | 'key';

type PolicyMap = ReadonlyMap<string, readonly CompiledPolicy[]>;

/**
 * Policies by attachment (one map per kind, keyed by the internal id the live state carries, so a
 * lookup builds no string), compiled, plus each group's default effect. Immutable: a change builds a new one.
 */
export interface PolicyIndex {
  byGroup: PolicyMap;
  byKeystore: PolicyMap;
  byKey: PolicyMap;
  /** Whether any policy is audit-only (else the rehearsal is skipped). */
  hasAuditOnly: boolean;
  groupDefaults: ReadonlyMap<string, Effect>;
}

export function buildIndex(
  policies: { id: string; name: string; mode: PolicyMode; rules: PolicyRule[]; attachKind?: AttachmentKind; attachId?: string }[],
  groupDefaults: Iterable<[groupId: string, effect: Effect]>,
): PolicyIndex {
  const maps = {
    group: new Map<string, CompiledPolicy[]>(),
    keystore: new Map<string, CompiledPolicy[]>(),
    key: new Map<string, CompiledPolicy[]>(),
  };
  let hasAuditOnly = false;
  for (const policy of [...policies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!policy.attachKind || !policy.attachId) continue;
    const map = maps[policy.attachKind];
    map.set(policy.attachId, [...(map.get(policy.attachId) ?? []), compilePolicy(policy)]);
    if (policy.mode === 'audit-only') hasAuditOnly = true;
  }
  return { byGroup: maps.group, byKeystore: maps.keystore, byKey: maps.key, hasAuditOnly, groupDefaults: new Map(groupDefaults) };
}

export const EMPTY_INDEX: PolicyIndex = buildIndex([], []);

/** Where a request lands: the key's group, the keystore it came through, and the key (internal ids). */
export interface RequestScope {
  groupId: string;
  keystoreId: string;
  keyId: string;
}

export interface TraceStep {
  policy: string;
  mode: PolicyMode;
  attachedTo: AttachmentKind;
  rule: string;
  effect: Effect;
  matched: boolean;
  /** The first condition that did not match (`unless` when the exception applied). */
  mismatch?: string;
}

export interface PolicyDecision {
  allowed: boolean;
  /** The rule that decided, or `default:allow` / `default:deny` (the group's default). */
  decidedBy: string;
  /** The policy of that rule, when a rule decided. */
  policy?: string;
  /** An audit-only policy would have denied this allowed request, by `wouldDenyBy`. */
  wouldDeny?: boolean;
  wouldDenyBy?: string;
  wouldDenyPolicy?: string;
}

interface Verdict {
  allowed: boolean;
  rule: CompiledRule;
  policy: CompiledPolicy;
}

type Attached = readonly [
  group: readonly CompiledPolicy[] | undefined,
  keystore: readonly CompiledPolicy[] | undefined,
  key: readonly CompiledPolicy[] | undefined,
];

/** Deny wins; else the first matching allow; else undefined (the default decides). Audit-only policies count only in a rehearsal. */
function verdict(attached: Attached, facts: RequestFacts, rehearsal: boolean): Verdict | undefined {
  let allow: Verdict | undefined;
  for (const policies of attached) {
    if (policies === undefined) continue;
    for (const policy of policies) {
      if (!rehearsal && policy.mode !== 'enforce') continue;
      for (const rule of policy.rules) {
        if (rule.effect === 'allow' && allow !== undefined) continue;
        if (mismatch(rule, facts) !== undefined) continue;
        if (rule.effect === 'deny') return { allowed: false, rule, policy };
        allow = { allowed: true, rule, policy };
      }
    }
  }
  return allow;
}

const KINDS: readonly AttachmentKind[] = ['group', 'keystore', 'key'];
const DEFAULT_RULE: Record<Effect, string> = { allow: 'default:allow', deny: 'default:deny' };

function traceAll(attached: Attached, facts: RequestFacts, trace: TraceStep[]): void {
  KINDS.forEach((kind, i) => {
    for (const policy of attached[i] ?? []) {
      for (const rule of policy.rules) {
        const miss = mismatch(rule, facts);
        trace.push({
          policy: policy.name,
          mode: policy.mode,
          attachedTo: kind,
          rule: rule.id,
          effect: rule.effect,
          matched: miss === undefined,
          ...(miss ? { mismatch: miss } : {}),
        });
      }
    }
  });
}

/**
 * Decides one request: deny wins across every enforce-mode policy attached to the group, the keystore
 * and the key; otherwise a matching allow rule allows; otherwise the group's default (allow when unset).
 * Audit-only policies are then evaluated together with the enforced ones (a rehearsal): when that
 * would deny a request that is allowed, the decision says so (`wouldDeny`) and names the rule.
 */
export function evaluate(index: PolicyIndex, scope: RequestScope, facts: RequestFacts, trace?: TraceStep[]): PolicyDecision {
  const attached: Attached = [index.byGroup.get(scope.groupId), index.byKeystore.get(scope.keystoreId), index.byKey.get(scope.keyId)];
  const fallback: Effect = index.groupDefaults.get(scope.groupId) ?? 'allow';
  if (trace) traceAll(attached, facts, trace);

  const actual = verdict(attached, facts, false);
  const decision: PolicyDecision = actual
    ? { allowed: actual.allowed, decidedBy: actual.rule.id, policy: actual.policy.name }
    : { allowed: fallback === 'allow', decidedBy: DEFAULT_RULE[fallback] };
  if (!decision.allowed || !index.hasAuditOnly) return decision;

  const rehearsed = verdict(attached, facts, true);
  if (rehearsed ? !rehearsed.allowed : fallback === 'deny') {
    decision.wouldDeny = true;
    decision.wouldDenyBy = rehearsed?.rule.id ?? DEFAULT_RULE[fallback];
    if (rehearsed) decision.wouldDenyPolicy = rehearsed.policy.name;
  }
  return decision;
}
