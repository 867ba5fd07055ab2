// The errors every feature store throws; `guarded` and `refusedBy` (db-errors.ts) raise them from constraint violations.

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
