/**
 * Recognises constraint violations from both drivers, so feature stores can turn them into
 * StoreConflictError / StoreNotFoundError with a message a person can act on (`guarded`, `refusedBy`).
 */
import { StoreConflictError, StoreNotFoundError } from './store-errors.js';

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
  return err instanceof Error && 'code' in err && typeof err.code === 'string';
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

/** Runs a write; a constraint violation `toError` maps to an error is thrown as that error, anything else as it came. */
async function translated<T>(
  write: () => Promise<T>,
  toError: (violation: ConstraintViolation) => Error | undefined | Promise<Error | undefined>,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const violation = constraintViolation(err);
    throw (violation && (await toError(violation))) ?? err;
  }
}

/** The store error for a violation: StoreConflictError for a unique one, StoreNotFoundError for a foreign-key one. */
function storeError(violation: ConstraintViolation, message: string | undefined): Error {
  return violation.kind === 'unique'
    ? new StoreConflictError(message ?? `${violation.key} already exists`)
    : new StoreNotFoundError(message ?? 'a referenced record does not exist');
}

/**
 * Runs a write and turns constraint violations into store errors: a unique violation becomes
 * StoreConflictError, a foreign-key violation (the referenced record is missing) StoreNotFoundError.
 * `explain` runs after the failed transaction has rolled back, so it may query the database.
 */
export function guarded<T>(write: () => Promise<T>, explain: Explain): Promise<T> {
  return translated(write, async (violation) => storeError(violation, await explain(violation)));
}

/**
 * Runs a write that one kind of constraint can refuse (a duplicate name, a missing group): that violation
 * becomes its store error with `message`; any other failure is thrown as it came.
 */
export function refusedBy<T>(kind: ConstraintViolation['kind'], message: string, write: () => Promise<T>): Promise<T> {
  return translated(write, (violation) => (violation.kind === kind ? storeError(violation, message) : undefined));
}

/** The table and columns of a unique violation (`keystores(prefix)`), undefined for a foreign-key one. */
export const uniqueKey = (violation: ConstraintViolation): string | undefined => (violation.kind === 'unique' ? violation.key : undefined);
