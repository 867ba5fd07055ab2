import { Ajv, type ErrorObject } from 'ajv';
import { Type, type Static } from 'typebox';
import { invalid } from '../core/errors.js';

/**
 * A policy as operators write it (docs/policies.md): a JSON document with ordered rules over
 * the request metadata KMS sends. This module only describes and validates documents; compile.ts
 * turns them into matchers.
 */

/** The fields a rule can test, each a list of patterns (`*` any run of characters, `?` one character). */
export const CONDITION_FIELDS = [
  'principal',
  'account',
  'kmsOperation',
  'kmsViaService',
  'sourceVpc',
  'sourceVpce',
  'kmsKeyArn',
  'region',
] as const;
export type ConditionField = (typeof CONDITION_FIELDS)[number];

export type Conditions = Partial<Record<ConditionField, string[]>>;

export type Effect = 'allow' | 'deny';
export type PolicyMode = 'enforce' | 'audit-only';

export interface PolicyRule extends Conditions {
  /** Unique in its policy; `rule-N` (1-based position) when not given. */
  id?: string;
  effect: Effect;
  /** The rule does not apply when every condition named here matches (e.g. deny everyone unless one principal). */
  unless?: Conditions;
}

/** Where a policy applies: one group, one keystore, or one key (by its id; `keystore` says in which keystore's group). */
export type AttachTarget = { group: string } | { keystore: string } | { key: string; keystore: string };

export interface PolicyDocument {
  name: string;
  description?: string;
  mode?: PolicyMode;
  attach?: AttachTarget;
  rules: PolicyRule[];
}

export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** What each field's patterns may contain (besides `*` and `?`); anything else is a typo, refused at write time. */
export const PATTERN_SYNTAX: Record<ConditionField, { re: RegExp; says: string }> = {
  // Printable, spaces included: KMS sends `AWS Internal` as a principal for some of its own calls.
  principal: { re: /^[\x20-\x7e]{1,2048}$/, says: 'an ARN pattern of printable characters' },
  // 12 digits, or a pattern that can match 12 digits (`*`, `1111????????`, `1111*`).
  account: { re: /^(?=[0-9*?]{1,12}$)(?:\d{12}|.*\*.*|[0-9?]{12})$/, says: 'a 12-digit AWS account id (wildcards * and ? allowed)' },
  kmsOperation: { re: /^[A-Za-z0-9*?]{1,64}$/, says: 'a KMS operation name such as Encrypt' },
  kmsViaService: { re: /^[A-Za-z0-9.*?-]{1,256}$/, says: 'a service name such as ec2.us-east-1.amazonaws.com' },
  sourceVpc: { re: /^[A-Za-z0-9*?-]{1,64}$/, says: 'a VPC id such as vpc-0123456789abcdef0' },
  sourceVpce: { re: /^[A-Za-z0-9*?-]{1,64}$/, says: 'a VPC endpoint id such as vpce-0123456789abcdef0' },
  kmsKeyArn: { re: /^[\x21-\x7e]{1,2048}$/, says: 'a KMS key ARN pattern of printable characters without spaces' },
  region: { re: /^[a-z0-9*?-]{1,32}$/, says: 'an AWS region such as us-east-1' },
};

const Patterns = Type.Array(Type.String(), { minItems: 1, maxItems: 100 });
/** One optional list of patterns per condition field, in CONDITION_FIELDS order. */
const conditionProperties = {
  principal: Type.Optional(Patterns),
  account: Type.Optional(Patterns),
  kmsOperation: Type.Optional(Patterns),
  kmsViaService: Type.Optional(Patterns),
  sourceVpc: Type.Optional(Patterns),
  sourceVpce: Type.Optional(Patterns),
  kmsKeyArn: Type.Optional(Patterns),
  region: Type.Optional(Patterns),
} satisfies Record<ConditionField, unknown>;
const Target = Type.String({ minLength: 1, maxLength: 128 });

/** `{ group }`, `{ keystore }` or `{ key, keystore }`: the shape; validateAttachTarget checks the combination. */
const AttachTargetShape = Type.Object(
  { group: Type.Optional(Target), keystore: Type.Optional(Target), key: Type.Optional(Target) },
  { additionalProperties: false, minProperties: 1 },
);

/** The JSON schema of a policy document's shape; validatePolicyDocument checks the rest (names, patterns, ids). */
export const policyDocumentSchema = Type.Object(
  {
    name: Type.String(),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    mode: Type.Optional(Type.Enum(['enforce', 'audit-only'], { type: 'string' })),
    attach: Type.Optional(AttachTargetShape),
    rules: Type.Array(
      Type.Object(
        {
          id: Type.Optional(Type.String()),
          effect: Type.Enum(['allow', 'deny'], { type: 'string' }),
          ...conditionProperties,
          unless: Type.Optional(Type.Object(conditionProperties, { additionalProperties: false, minProperties: 1 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);

const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });
// The type is the schema's own (TypeBox derives it), so a document that passes has exactly this shape.
const validateShape = ajv.compile<Static<typeof policyDocumentSchema>>(policyDocumentSchema);

/** A string parameter of an Ajv error (`additionalProperty`, `missingProperty`), when it has one. */
function param(error: ErrorObject, name: string): string | undefined {
  const value: unknown = error.params[name];
  return typeof value === 'string' ? value : undefined;
}

/** `rules[1].principal[0]` from `/rules/1/principal/0`. */
function fieldPath(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  const named =
    error.keyword === 'additionalProperties'
      ? param(error, 'additionalProperty')
      : error.keyword === 'required'
        ? param(error, 'missingProperty')
        : undefined;
  if (named !== undefined) return path ? `${path}.${named}` : named;
  return path || 'policy';
}

function describe(error: ErrorObject | undefined): string {
  if (error === undefined) return 'policy is invalid';
  const field = fieldPath(error);
  switch (error.keyword) {
    case 'additionalProperties':
      return `${field}: unknown field (conditions are ${CONDITION_FIELDS.join(', ')})`;
    case 'required':
      return `${field} is required`;
    case 'enum': {
      const allowed: unknown = error.params.allowedValues;
      return `${field} must be one of ${Array.isArray(allowed) ? allowed.join(', ') : '?'}`;
    }
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

const ATTACH_FIELDS = ['group', 'keystore', 'key'] as const;
const isAttachField = (name: string): name is (typeof ATTACH_FIELDS)[number] => ATTACH_FIELDS.some((field) => field === name);

/** `{ group }`, `{ keystore }` or `{ key, keystore }` from the fields given; undefined for any other combination. */
function targetOf(t: { group?: string; keystore?: string; key?: string }): AttachTarget | undefined {
  if (t.group !== undefined) return t.keystore === undefined && t.key === undefined ? { group: t.group } : undefined;
  if (t.keystore === undefined) return undefined;
  return t.key === undefined ? { keystore: t.keystore } : { key: t.key, keystore: t.keystore };
}

/** Checks where a policy is to apply; throws a one-line ManagementError naming the problem. */
export function validateAttachTarget(attach: unknown): AttachTarget {
  if (typeof attach !== 'object' || attach === null || Array.isArray(attach)) throw invalid('attach must be an object');
  const fields: { group?: string; keystore?: string; key?: string } = {};
  for (const [field, value] of Object.entries(attach)) {
    if (!isAttachField(field)) throw invalid(`attach.${field}: unknown field (use group, keystore or key)`);
    if (typeof value !== 'string' || value.length === 0 || value.length > 128) throw invalid(`attach.${field} must be a non-empty string`);
    fields[field] = value;
  }
  const target = targetOf(fields);
  if (!target) throw invalid('attach must be { "group": G }, { "keystore": K } or { "key": ID, "keystore": K }');
  return target;
}

/**
 * The group or keystore an edit names, read leniently from a body not yet validated: which groups'
 * approval policies an edit falls under is decided before the service validates it.
 */
export function attachTargetHint(value: unknown): AttachTarget | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if ('group' in value && typeof value.group === 'string') return { group: value.group };
  if ('keystore' in value && typeof value.keystore === 'string') return { keystore: value.keystore };
  return undefined;
}

function checkConditions(conditions: Conditions, where: string): void {
  for (const field of CONDITION_FIELDS) {
    const list = conditions[field];
    if (list === undefined) continue;
    list.forEach((pattern, i) => {
      const syntax = PATTERN_SYNTAX[field];
      if (!syntax.re.test(pattern)) throw invalid(`${where}.${field}[${i}]: "${pattern.slice(0, 80)}" is not ${syntax.says}`);
    });
  }
}

/** Checks a document's shape and every pattern; throws a one-line ManagementError naming the bad field. */
export function validatePolicyDocument(input: unknown): PolicyDocument {
  if (!validateShape(input)) throw invalid(describe(validateShape.errors?.[0]));
  const { attach, ...shape } = input;
  if (!NAME.test(shape.name)) throw invalid('name must be 1-63 characters of A-Z a-z 0-9 . _ - starting with a letter or digit');
  const document: PolicyDocument = attach === undefined ? shape : { ...shape, attach: validateAttachTarget(attach) };
  const ids = new Set<string>();
  document.rules.forEach((rule, i) => {
    const where = `rules[${i}]`;
    if (rule.id !== undefined && !RULE_ID.test(rule.id))
      throw invalid(`${where}.id must be 1-63 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`);
    const id = ruleIdOf(rule, i);
    if (ids.has(id)) throw invalid(`${where}.id "${id}" is used by another rule of this policy`);
    ids.add(id);
    checkConditions(rule, where);
    if (rule.unless) checkConditions(rule.unless, `${where}.unless`);
  });
  return document;
}

/** A rule's id inside its policy. */
export const ruleIdOf = (rule: PolicyRule, index: number): string => rule.id ?? `rule-${index + 1}`;
