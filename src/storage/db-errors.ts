/**
 * Recognises constraint violations from both drivers, so feature stores can turn them into
 * StoreConflictError / StoreNotFoundError with a message a person can act on (`guarded`).
 */
import { StoreConflictError, StoreNotFoundError } from './store.js';

export type ConstraintViolation =
  /** `key` names the table and columns, e.g. `keys(group_id,external_id)`, the same on both dialects. */
  | { kind: 'unique'; key: string }
  /** SQLite does not say which foreign key failed; callers know from context what was missing. */
  | { kind: 'foreignKey' };

interface DriverError {
  code: string;
  message: string;
  /** PostgreSQL only. */
  detail?: string;
  table?: string;
}

function isDriverError(err: unknown): err is DriverError {
  return err instanceof Error && typeof (err as Partial<DriverError>).code === 'string';
}

export function constraintViolation(err: unknown): ConstraintViolation | undefined {
  if (!isDriverError(err)) return undefined;
  switch (err.code) {
    // better-sqlite3: "UNIQUE constraint failed: keys.group_id, keys.external_id"
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY': {
      const qualified = err.message.replace(/^UNIQUE constraint failed: /, '').split(', ');
      const table = qualified[0]?.split('.')[0] ?? '';
      return { kind: 'unique', key: `${table}(${qualified.map((c) => c.split('.')[1]).join(',')})` };
    }
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return { kind: 'foreignKey' };
    // pg unique_violation: detail "Key (group_id, external_id)=(g, k) already exists."
    case '23505': {
      const columns = /^Key \(([^)]*)\)=/.exec(err.detail ?? '')?.[1]?.split(', ') ?? [];
      return { kind: 'unique', key: `${err.table ?? ''}(${columns.join(',')})` };
    }
    // pg foreign_key_violation
    case '23503':
      return { kind: 'foreignKey' };
    default:
      return undefined;
  }
}

/** Says what a constraint violation meant for this operation; undefined falls back to a generic message. */
export type Explain = (violation: ConstraintViolation) => string | undefined | Promise<string | undefined>;

/**
 * Runs a write and turns constraint violations into store errors: a unique violation becomes
 * StoreConflictError, a foreign-key violation (the referenced record is missing) StoreNotFoundError.
 * `explain` runs after the failed transaction has rolled back, so it may query the database.
 */
export async function guarded<T>(write: () => Promise<T>, explain: Explain): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const violation = constraintViolation(err);
    if (violation === undefined) throw err;
    const message = await explain(violation);
    if (violation.kind === 'unique') {
      throw new StoreConflictError(message ?? `${violation.key} already exists`);
    }
    throw new StoreNotFoundError(message ?? 'a referenced record does not exist');
  }
}

/** The `table(columns)` of a unique violation, for a switch over what was duplicated. */
export const uniqueKey = (v: ConstraintViolation) => (v.kind === 'unique' ? v.key : undefined);
