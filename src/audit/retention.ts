import type { AuditStore } from './audit-store.js';

const DAY_MS = 86_400_000;

/**
 * Deletes a chain's events older than `days`, but only up to a signed checkpoint, which stays as the
 * chain's new anchor so `audit verify` still checks what remains. Returns how many were deleted.
 */
export async function applyRetention(
  audit: AuditStore,
  chain: string,
  days: number,
  now: number,
  /** With syslog forwarding: events not yet forwarded are kept. */
  keepUnforwarded = false,
): Promise<{ deleted: number; anchorSeq?: number }> {
  const forwarded = keepUnforwarded ? ((await audit.getChain(chain))?.forwardedSeq ?? 0) : undefined;
  const cut = await audit.retentionCut(chain, now - days * DAY_MS, forwarded);
  const current = await audit.getChain(chain);
  if (!cut || !current || cut.seq <= current.anchorSeq) return { deleted: 0 };
  const deleted = await audit.truncateTo(cut);
  return { deleted, anchorSeq: cut.seq };
}
