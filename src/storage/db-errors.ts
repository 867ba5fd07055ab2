/**
 * Recognises constraint violations from both drivers, so the store can turn them into
 * StoreConflictError / StoreNotFoundError with a message a person can act on.
 */

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
