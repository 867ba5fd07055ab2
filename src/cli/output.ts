/** Prints records as aligned `label  value` lines, or JSON with --json. */
export function printRecord(record: Record<string, unknown>, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(record, null, 2));
    return;
  }
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [label, value] of Object.entries(record)) {
    if (value === undefined) continue;
    console.log(`${label.padEnd(width)}  ${formatValue(value)}`);
  }
}

export function printTable(rows: Record<string, unknown>[], columns: string[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const cells = rows.map((row) => columns.map((c) => formatValue(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  console.log(
    columns
      .map((c, i) => c.toUpperCase().padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  for (const row of cells)
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) {
    if (value.length === 0) return 'none';
    return value.map((v) => (typeof v === 'object' ? Object.values(v as object).join(' ') : String(v))).join(', ');
  }
  return String(value);
}
