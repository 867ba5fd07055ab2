/**
 * One row read as an array of values (DatabaseConnection.rowArrays), read by position with the type each
 * column holds. A value of another type means the row was not written by Keyhold (or the query's column
 * list and the reader disagree): `corrupt` says which column, in one line.
 */
export class RowValues {
  constructor(
    private readonly values: readonly unknown[],
    private readonly corrupt: (column: number) => Error,
  ) {}

  text(column: number): string {
    const value = this.values[column];
    if (typeof value !== 'string') throw this.corrupt(column);
    return value;
  }

  nullableText(column: number): string | null {
    return this.values[column] === null ? null : this.text(column);
  }

  /** An integer column (SQLite INTEGER, PostgreSQL integer or bigint parsed as a number). */
  integer(column: number): number {
    const value = this.values[column];
    if (typeof value !== 'number') throw this.corrupt(column);
    return value;
  }

  nullableInteger(column: number): number | null {
    return this.values[column] === null ? null : this.integer(column);
  }

  bytes(column: number): Buffer {
    const value = this.values[column];
    if (!Buffer.isBuffer(value)) throw this.corrupt(column);
    return value;
  }

  /** A text column holding one of `allowed`. */
  oneOf<T extends string>(column: number, allowed: readonly T[]): T {
    const value = this.values[column];
    const found = allowed.find((candidate) => candidate === value);
    if (found === undefined) throw this.corrupt(column);
    return found;
  }
}
