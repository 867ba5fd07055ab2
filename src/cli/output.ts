/**
 * How commands print their result: aligned `label  value` lines and tables for people, or with --json
 * one JSON document of plain values for scripts. A note for people (a secret is "shown once", roles
 * "wait for approval") follows the value in text, and goes to stderr with --json so that stdout stays
 * exactly the value a script reads (`keyhold token create --json | jq -r .token`).
 */

/** The note on a secret or token the server returns only this once. */
export const SHOWN_ONCE = 'shown once';

/** Per-field notes for people, e.g. `{ token: 'shown once' }`. */
export type Notes = Partial<Record<string, string>>;

/** One JSON document on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Prints a record as aligned `label  value` lines (undefined values left out), or JSON with --json. */
export function printRecord(record: Record<string, unknown>, json: boolean, notes: Notes = {}): void {
  if (json) {
    printJson(record);
    for (const [field, note] of Object.entries(notes))
      if (note !== undefined && record[field] !== undefined) printNote(`${field}: ${note}`);
    return;
  }
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [label, value] of Object.entries(record)) {
    if (value === undefined) continue;
    const note = notes[label];
    console.log(`${label.padEnd(width)}  ${formatValue(value)}${note === undefined ? '' : `   (${note})`}`);
  }
}

/** A note for the person at the terminal, on stderr (used with --json, where stdout is the result only). */
export function printNote(text: string): void {
  console.error(`note: ${text}`);
}

/** Prints rows as a table with the given columns, or the rows as they are as JSON with --json. */
export function printTable<Row extends object>(rows: readonly Row[], columns: readonly (keyof Row & string)[], json: boolean): void {
  if (json) {
    printJson(rows);
    return;
  }
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const cells = rows.map((row) => columns.map((column) => formatValue(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((cell) => cell[i]?.length ?? 0)));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(line(columns.map((column) => column.toUpperCase())));
  for (const row of cells) console.log(line(row));
}

function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) {
    if (value.length === 0) return 'none';
    // Entries that are objects (e.g. a credential) print as their values: `AKID 2024-01-01T…`.
    return value
      .map((entry: unknown) =>
        typeof entry === 'object' && entry !== null ? Object.values(entry).map(formatValue).join(' ') : formatValue(entry),
      )
      .join(', ');
  }
  return JSON.stringify(value);
}
