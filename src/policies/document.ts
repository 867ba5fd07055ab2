import { Ajv, type ErrorObject } from 'ajv';
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

const patterns = { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string' } } as const;
const conditionProperties = Object.fromEntries(CONDITION_FIELDS.map((field) => [field, patterns]));
const target = { type: 'string', minLength: 1, maxLength: 128 } as const;

/** The JSON schema of a policy document, used by the admin route and by the service. */
export const policyDocumentSchema = {
  type: 'object',
  required: ['name', 'rules'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    description: { type: 'string', maxLength: 1024 },
    mode: { type: 'string', enum: ['enforce', 'audit-only'] },
    attach: attachTargetSchema(),
    rules: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['effect'],
        additionalProperties: false,
        properties: {
          id: { type: 'string' },
          effect: { type: 'string', enum: ['allow', 'deny'] },
          ...conditionProperties,
          unless: { type: 'object', additionalProperties: false, minProperties: 1, properties: conditionProperties },
        },
      },
    },
  },
} as const;

/** `{ group }`, `{ keystore }` or `{ key, keystore }`. */
export function attachTargetSchema() {
  return {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { group: target, keystore: target, key: target },
  } as const;
}

const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });
const validateShape = ajv.compile(policyDocumentSchema);

/** `rules[1].principal[0]` from `/rules/1/principal/0`. */
function fieldPath(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return path ? `${path}.${extra}` : extra;
  }
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return path ? `${path}.${missing}` : missing;
  }
  return path || 'policy';
}

function describe(error: ErrorObject): string {
  const field = fieldPath(error);
  switch (error.keyword) {
    case 'additionalProperties':
      return `${field}: unknown field (conditions are ${CONDITION_FIELDS.join(', ')})`;
    case 'required':
      return `${field} is required`;
    case 'enum':
      return `${field} must be one of ${(error.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

function checkTarget(attach: AttachTarget | Record<string, string>, where: string): void {
  const t = attach as { group?: string; keystore?: string; key?: string };
  const ok =
    (t.group !== undefined && t.keystore === undefined && t.key === undefined) || (t.group === undefined && t.keystore !== undefined);
  if (!ok) throw invalid(`${where} must be { "group": G }, { "keystore": K } or { "key": ID, "keystore": K }`);
}

export function validateAttachTarget(attach: unknown): AttachTarget {
  if (typeof attach !== 'object' || attach === null || Array.isArray(attach)) throw invalid('attach must be an object');
  for (const [field, value] of Object.entries(attach)) {
    if (!['group', 'keystore', 'key'].includes(field)) throw invalid(`attach.${field}: unknown field (use group, keystore or key)`);
    if (typeof value !== 'string' || value.length === 0 || value.length > 128) throw invalid(`attach.${field} must be a non-empty string`);
  }
  checkTarget(attach as Record<string, string>, 'attach');
  return attach as AttachTarget;
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
  if (!validateShape(input)) throw invalid(describe(validateShape.errors![0]!));
  const document = input as PolicyDocument;
  if (!NAME.test(document.name)) throw invalid('name must be 1-63 characters of A-Z a-z 0-9 . _ - starting with a letter or digit');
  if (document.attach !== undefined) validateAttachTarget(document.attach);
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
