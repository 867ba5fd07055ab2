import { constraintViolation, type ConstraintViolation } from './db-errors.js';

/** A uniqueness or integrity rule refused the change (duplicate name, prefix, key id, last credential…). */
export class StoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}

/** The referenced record does not exist. */
export class StoreNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreNotFoundError';
  }
}

/** Says what a constraint violation meant for this operation; undefined falls back to a generic message. */
export type ExplainViolation = (violation: ConstraintViolation) => string | undefined | Promise<string | undefined>;

/**
 * Runs a write and turns constraint violations into store errors: a unique violation becomes
 * StoreConflictError, a foreign-key violation (the referenced record is missing) StoreNotFoundError.
 * `explain` runs after the failed transaction has rolled back, so it may query the database.
 */
export async function guardedWrite<T>(write: () => Promise<T>, explain: ExplainViolation): Promise<T> {
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

/** The table and columns of a unique violation (`keystores(prefix)`), undefined for a foreign-key one. */
export const uniqueKey = (violation: ConstraintViolation): string | undefined => (violation.kind === 'unique' ? violation.key : undefined);
