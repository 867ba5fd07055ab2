/**
 * How the simulator judges a proxy's answer (validators.ts holds the rules): every named rule that fails
 * is recorded, and a value is handed out only when none failed. `take` checks one field and returns it
 * typed by its check, so a validated answer is built from checked fields, never cast.
 */
import { isJsonObject, type JsonObject } from '../core/json.js';
import { decodeStrictBase64 } from './base64.js';

export interface CheckFailure {
  check: string;
  detail: string;
}

export interface ValidationReport<T> {
  /** Present when no rule failed. */
  value?: T;
  failures: CheckFailure[];
  warnings: CheckFailure[];
}

export interface ValidationOptions {
  /** Fail, instead of warn, on fields the spec does not define. */
  strict?: boolean;
}

export const isString = (value: unknown): value is string => typeof value === 'string';

/** Collects the outcome of named rules for one response. */
export class CheckLog {
  readonly failures: CheckFailure[] = [];
  readonly warnings: CheckFailure[] = [];

  /** Records a failure unless `ok`; returns `ok` so callers can stop dependent checks. */
  require(check: string, ok: boolean, detail: string): boolean {
    if (!ok) this.failures.push({ check, detail });
    return ok;
  }

  /** Records a failure unless `value` passes `guard`; returns the value as the guard proved it, else undefined. */
  take<V, T extends V>(check: string, value: V, guard: (value: V) => value is T, detail: string): T | undefined {
    if (guard(value)) return value;
    this.failures.push({ check, detail });
    return undefined;
  }

  warn(check: string, ok: boolean, detail: string): void {
    if (!ok) this.warnings.push({ check, detail });
  }

  /** The value is only handed out when every rule passed. */
  report<T>(value?: T): ValidationReport<T> {
    return this.failures.length === 0 && value !== undefined
      ? { value, failures: this.failures, warnings: this.warnings }
      : { failures: this.failures, warnings: this.warnings };
  }

  unknownFields(body: JsonObject, known: readonly string[], options: ValidationOptions): void {
    const extra = Object.keys(body).filter((field) => !known.includes(field));
    const detail = `unexpected field(s): ${extra.join(', ')}`;
    if (options.strict) this.require('no-unknown-fields', extra.length === 0, detail);
    else this.warn('no-unknown-fields', extra.length === 0, detail);
  }

  /** Requires `body[field]` to be strict standard Base64 (if present or `required`), and returns the bytes. */
  base64Field(body: JsonObject, field: string, required: boolean): Buffer | undefined {
    const value = body[field];
    if (value === undefined && !required) return undefined;
    const text = this.take(`${field}-present`, value, isString, `${field} must be a Base64 string`);
    if (text === undefined) return undefined;
    const decoded = decodeStrictBase64(text);
    this.require(`${field}-strict-base64`, decoded !== undefined, `${field} is not standard padded Base64 (RFC 4648 §4)`);
    return decoded;
  }
}

/** The first rule of every answer: the body is one JSON object. */
export function requireObject(log: CheckLog, body: unknown): body is JsonObject {
  return log.require('response-is-json-object', isJsonObject(body), 'the response body must be a JSON object');
}
