/**
 * Reads fields of a parsed JSON answer (`response.json`, which test/helpers/https-json.ts leaves untyped)
 * as checked values: a test then asserts on what the wire carried, and a field of the wrong type fails
 * with its path instead of flowing on as `any`.
 */
import assert from 'node:assert/strict';

export type JsonPath = readonly (string | number)[];

/** The value at `path` (object keys and array indexes), or undefined when any step is absent. */
export function field(json: unknown, ...path: JsonPath): unknown {
  let value = json;
  for (const step of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = Reflect.get(value, step);
  }
  return value;
}

/** The string at `path`; fails the test when it is absent or not a string. */
export function text(json: unknown, ...path: JsonPath): string {
  const value = field(json, ...path);
  if (typeof value !== 'string') assert.fail(`${path.join('.')} should be a string in ${JSON.stringify(json)}`);
  return value;
}

/** An object whose every field is a string (an XKS Encrypt answer, fed back to Decrypt). */
export function stringFields(json: unknown): Record<string, string> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) assert.fail(`an object: ${JSON.stringify(json)}`);
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(json)) {
    if (typeof value !== 'string') assert.fail(`${name} should be a string in ${JSON.stringify(json)}`);
    fields[name] = value;
  }
  return fields;
}
