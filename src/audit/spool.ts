import { existsSync, readFileSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { ChainedAuditEvent } from './event.js';

/**
 * The local append-only spool (docs/architecture.md#database-outage): while the database is unreachable, durable mode writes
 * each batch here (one JSON event per line, fsync per batch) and replays it, in order, on recovery.
 */
export class AuditSpool {
  private handle: FileHandle | undefined;
  private count = 0;

  constructor(readonly path: string) {}

  /** Events left by an earlier run (a partly written last line, from a crash mid-write, is ignored). */
  readExisting(): ChainedAuditEvent[] {
    if (!existsSync(this.path)) return [];
    const events: ChainedAuditEvent[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        events.push(JSON.parse(line) as ChainedAuditEvent);
      } catch {
        break;
      }
    }
    this.count = events.length;
    return events;
  }

  get size(): number {
    return this.count;
  }

  async append(events: readonly ChainedAuditEvent[]): Promise<void> {
    this.handle ??= await open(this.path, 'a', 0o600);
    await this.handle.write(events.map((e) => JSON.stringify(e) + '\n').join(''));
    await this.handle.datasync();
    this.count += events.length;
  }

  /** Everything spooled so far, in order. */
  read(): ChainedAuditEvent[] {
    return this.readExisting();
  }

  /** After a successful replay. */
  async clear(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    rmSync(this.path, { force: true });
    this.count = 0;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
