import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { BackupError } from './backup-error.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** One table's rows, as the database returned them (binary columns as Buffers). */
export interface TableRows {
  name: string;
  columns: string[];
  rows: Record<string, unknown>[];
}

/** A table as stored in the file: rows as arrays in `columns` order, binary columns base64. */
interface StoredTable {
  name: string;
  columns: string[];
  binary: string[];
  rows: unknown[][];
}

/** Serializes the tables (gzipped JSON; Buffers as base64, named per table so they come back as Buffers). */
export async function encodeContent(tables: TableRows[]): Promise<Buffer> {
  const stored: StoredTable[] = tables.map((table) => {
    const binary = table.columns.filter((c) => table.rows.some((row) => Buffer.isBuffer(row[c])));
    const isBinary = new Set(binary);
    return {
      name: table.name,
      columns: table.columns,
      binary,
      rows: table.rows.map((row) =>
        table.columns.map((c) => {
          const value = row[c];
          if (isBinary.has(c) && Buffer.isBuffer(value)) return value.toString('base64');
          return typeof value === 'bigint' ? Number(value) : (value ?? null);
        }),
      ),
    };
  });
  return gzipAsync(Buffer.from(JSON.stringify({ tables: stored }), 'utf8'));
}

export async function decodeContent(content: Buffer): Promise<TableRows[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse((await gunzipAsync(content)).toString('utf8'));
  } catch {
    throw new BackupError('the backup content is not readable (authenticated, but not gzipped JSON: written by something else?)');
  }
  const tables = (parsed as { tables?: unknown }).tables;
  if (!Array.isArray(tables)) throw new BackupError('the backup content has no tables');
  return tables.map((t: StoredTable) => {
    const isBinary = new Set(t.binary);
    return {
      name: t.name,
      columns: t.columns,
      rows: t.rows.map((values) =>
        Object.fromEntries(
          t.columns.map((c, i) => {
            const value = values[i];
            return [c, isBinary.has(c) && typeof value === 'string' ? Buffer.from(value, 'base64') : value];
          }),
        ),
      ),
    };
  });
}
