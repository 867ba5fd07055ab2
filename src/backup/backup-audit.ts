import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AdminEvent } from '../audit/admin-events.js';
import { openCheckpointSigner } from '../audit/checkpoint-signing.js';
import { openAuditLog } from '../audit/open-audit-log.js';
import { adminEventFields } from '../audit/recorders.js';
import { AuditSpool } from '../audit/spool.js';
import { createAuditStore } from '../audit/sql-audit-store.js';
import type { Clock } from '../core/clock.js';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import type { DatabaseConnection } from '../storage/connection.js';

/**
 * The audit chain backup, restore and migrate commands record into: the node's id suffixed `-cli`
 * (a chain of its own, as each worker of `serve --workers` has), because the command runs beside a
 * serving node whose own chain only the node may extend. Signed and verified like any other chain.
 */
export const cliChain = (nodeId: string): string => `${nodeId}-cli`;

/** Appends one event to the CLI chain and signs a checkpoint over it; fails rather than losing the event. */
export async function recordCliEvent(options: {
  database: DatabaseConnection;
  root: RootOfTrust;
  nodeId: string;
  clock: Clock;
  event: Omit<AdminEvent, 'actor'>;
}): Promise<void> {
  const audit = createAuditStore(options.database);
  const chain = cliChain(options.nodeId);
  const signer = await openCheckpointSigner({ audit, root: options.root, chain, now: options.clock.now() });
  // fail-closed: the command reports a failure to record instead of spooling (the spool is a throwaway).
  const spoolDir = mkdtempSync(join(tmpdir(), 'keyhold-cli-audit-'));
  try {
    const log = await openAuditLog({
      audit,
      chain,
      signer,
      spool: new AuditSpool(join(spoolDir, 'spool.jsonl')),
      clock: options.clock,
      logger: pino({ level: 'silent' }),
      mode: 'fail-closed',
    });
    try {
      const actor = { kind: 'system' as const, id: 'keyhold-cli', name: process.env.USER ?? 'keyhold-cli' };
      await log.append(adminEventFields({ ...options.event, actor }, options.clock.now()));
      await log.checkpointNow();
    } finally {
      await log.close();
    }
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}
