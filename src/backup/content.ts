import { promisify } from 'node:util';
import { gunzip, gzipSync } from 'node:zlib';
import { BackupError } from './backup-error.js';
import type { SnapshotSink } from './snapshot.js';

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

/** Text gathered before it is compressed: a gzip member of about this much JSON. */
const MEMBER_BYTES = 256 * 1024;

/**
 * Builds a backup's content a few rows at a time: `{"tables":[{"name","columns","rows","binary"}…]}` as gzipped
 * JSON (Buffers as base64, their columns named per table so they come back as Buffers), compressed as it grows
 * in gzip members of about 256 KB of text each. gunzip reads consecutive members as one stream, so
 * `decodeContent` (and every earlier Keyhold) reads the result as it read a single member. The work is
 * synchronous and in small pieces, so a paced backup (pacer.ts) can spread it out, and the whole content is
 * never held as text.
 */
export class ContentEncoder implements SnapshotSink {
  private readonly members: Buffer[] = [];
  private text = '{"tables":[';
  private tables = 0;
  private table: { name: string; columns: string[]; binary: Set<string>; rows: number } | undefined;
  private readonly rowCounts: Record<string, number> = {};

  beginTable(name: string, columns: string[]): void {
    if (this.table) throw new Error(`table ${this.table.name} is still open`);
    this.text += `${this.tables++ === 0 ? '' : ','}{"name":${JSON.stringify(name)},"columns":${JSON.stringify(columns)},"rows":[`;
    this.table = { name, columns, binary: new Set(), rows: 0 };
  }

  /** Rows of the open table, each an array of its values in the table's `columns` order. */
  addRows(rows: readonly (readonly unknown[])[]): void {
    const table = this.table;
    if (!table) throw new Error('rows outside a table');
    for (const row of rows) {
      const values = row.map((value, i) => {
        if (Buffer.isBuffer(value)) {
          table.binary.add(table.columns[i] ?? '');
          return value.toString('base64');
        }
        return typeof value === 'bigint' ? Number(value) : (value ?? null);
      });
      this.text += `${table.rows++ === 0 ? '' : ','}${JSON.stringify(values)}`;
    }
    if (this.text.length >= MEMBER_BYTES) this.compress();
  }

  endTable(): void {
    const table = this.table;
    if (!table) throw new Error('no table is open');
    this.text += `],"binary":${JSON.stringify([...table.binary])}}`;
    this.rowCounts[table.name] = table.rows;
    this.table = undefined;
  }

  /** Rows per table so far (the manifest's counts). */
  get counts(): Record<string, number> {
    return { ...this.rowCounts };
  }

  /** The whole content; the encoder is done. */
  finish(): Buffer {
    if (this.table) throw new Error(`table ${this.table.name} is still open`);
    this.text += ']}';
    this.compress();
    return Buffer.concat(this.members);
  }

  private compress(): void {
    if (this.text.length === 0) return;
    this.members.push(gzipSync(Buffer.from(this.text, 'utf8')));
    this.text = '';
  }
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
