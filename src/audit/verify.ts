import type { AuditStore, Checkpoint } from './audit-store.js';
import { verifyCheckpoint } from './checkpoint-signing.js';
import { createPublicKey } from 'node:crypto';
import { eventHash, GENESIS_HASH } from './event.js';

function samePublicKey(a: string, b: string): boolean {
  try {
    const der = (pem: string) => createPublicKey(pem).export({ format: 'der', type: 'spki' });
    return der(a).equals(der(b));
  } catch {
    return false;
  }
}

export type BreakKind = 'edited' | 'deleted' | 'reordered' | 'inserted' | 'truncated' | 'checkpoint';

export interface ChainBreak {
  chain: string;
  /** The first bad record (for `truncated`: the first missing one). */
  seq: number;
  kind: BreakKind;
  detail: string;
}

export interface ChainReport {
  chain: string;
  /** Events present, and the sequence range walked. */
  events: number;
  firstSeq?: number;
  lastSeq?: number;
  checkpoints: number;
  /** Checkpoints whose signature and hash were checked against the chain. */
  checkpointsVerified: number;
  problem?: ChainBreak;
}

export interface VerifyReport {
  ok: boolean;
  chains: ChainReport[];
}

export interface VerifyOptions {
  /** A checkpoint exported earlier (`keyhold audit checkpoint`): detects a truncated tail. */
  checkpoint?: Checkpoint;
  /** A pinned public key (PEM) for the checkpoint's chain, instead of the one stored in the database. */
  publicKeyPem?: string;
  pageSize?: number;
}

/**
 * Walks every chain: each event's hash, its link to the one before, sequence gaps, every stored
 * checkpoint (signature and hash), the retention anchor and, when given, an exported checkpoint.
 * Names the first bad record of each chain and the kind of break.
 */
export async function verifyAuditLog(audit: AuditStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  const chains = await audit.listChains();
  // A chain whose signing key could not be stored yet (root not unsealed) has events but no row:
  // its links are still checked, against no checkpoints.
  const known = new Set(chains.map((c) => c.chain));
  const unsigned = (await audit.chainsWithEvents()).filter((id) => !known.has(id));
  if (options.checkpoint && !known.has(options.checkpoint.chain) && !unsigned.includes(options.checkpoint.chain)) {
    return {
      ok: false,
      chains: [
        {
          chain: options.checkpoint.chain,
          events: 0,
          checkpoints: 0,
          checkpointsVerified: 0,
          problem: {
            chain: options.checkpoint.chain,
            seq: 1,
            kind: 'truncated',
            detail: "the checkpoint's chain is missing from the database",
          },
        },
      ],
    };
  }
  const reports: ChainReport[] = [];
  for (const chain of chains) {
    const pinned = options.publicKeyPem && options.checkpoint?.chain === chain.chain ? options.publicKeyPem : undefined;
    reports.push(await verifyChain(audit, chain.chain, chain.publicKey, chain.anchorSeq, chain.anchorHash, options, pinned));
  }
  for (const chain of unsigned) reports.push(await verifyChain(audit, chain, undefined, 0, GENESIS_HASH, options, undefined));
  return { ok: reports.every((r) => !r.problem), chains: reports };
}

async function verifyChain(
  audit: AuditStore,
  chain: string,
  storedKey: string | undefined,
  anchorSeq: number,
  anchorHash: string,
  options: VerifyOptions,
  pinnedKey: string | undefined,
): Promise<ChainReport> {
  const publicKey = pinnedKey ?? storedKey ?? '';
  const stored = await audit.checkpoints(chain);
  const report: ChainReport = { chain, events: 0, checkpoints: stored.length, checkpointsVerified: 0 };
  const fail = (seq: number, kind: BreakKind, detail: string): ChainReport => ({ ...report, problem: { chain, seq, kind, detail } });

  const given = options.checkpoint?.chain === chain ? options.checkpoint : undefined;
  if (pinnedKey && (storedKey === undefined || !samePublicKey(pinnedKey, storedKey))) {
    return fail(
      given?.seq ?? anchorSeq + 1,
      'checkpoint',
      'the public key in the database is not the pinned one (checkpoints may have been re-signed)',
    );
  }
  if (given && !verifyCheckpoint(given, publicKey))
    return fail(given.seq, 'checkpoint', "the given checkpoint's signature does not verify with the chain's public key");
  for (const cp of stored) {
    if (!verifyCheckpoint(cp, publicKey)) return fail(cp.seq, 'checkpoint', "a stored checkpoint's signature does not verify");
  }
  const checkpointsBySeq = new Map<number, Checkpoint[]>();
  for (const cp of given ? [...stored, given] : stored) checkpointsBySeq.set(cp.seq, [...(checkpointsBySeq.get(cp.seq) ?? []), cp]);

  if (anchorSeq > 0) {
    const anchor = checkpointsBySeq.get(anchorSeq)?.find((cp) => cp.hash === anchorHash);
    if (!anchor) return fail(anchorSeq + 1, 'deleted', `events up to ${anchorSeq} are gone and no signed checkpoint anchors the rest`);
    report.checkpointsVerified++;
  }

  let expected = anchorSeq + 1;
  let prev = anchorHash;
  let prevPrev: string | undefined;
  const pageSize = options.pageSize ?? 5000;
  for (;;) {
    const page = await audit.chainEvents(chain, expected - 1, pageSize);
    if (page.length === 0) break;
    for (const event of page) {
      if (report.firstSeq === undefined) report.firstSeq = event.seq;
      if (event.seq !== expected) {
        return fail(expected, 'deleted', `events ${expected}…${event.seq - 1} are missing`);
      }
      const selfConsistent = eventHash(event) === event.hash;
      if (event.prevHash !== prev) {
        if (prevPrev !== undefined && event.prevHash === prevPrev) {
          return fail(event.seq - 1, 'inserted', `event ${event.seq - 1} was inserted: event ${event.seq} links to the one before it`);
        }
        const elsewhere = await audit.seqOfHash(chain, event.prevHash);
        if (elsewhere !== undefined)
          return fail(event.seq, 'reordered', `event ${event.seq} links to event ${elsewhere}, not to ${event.seq - 1}`);
        if (selfConsistent && event.seq > anchorSeq + 1) {
          return fail(
            event.seq - 1,
            'edited',
            `event ${event.seq - 1} was changed (and rehashed): event ${event.seq} links to a different hash`,
          );
        }
        return fail(event.seq, 'edited', `event ${event.seq}'s link to the previous event was changed`);
      }
      if (!selfConsistent) return fail(event.seq, 'edited', `event ${event.seq}'s content does not match its hash`);
      for (const cp of checkpointsBySeq.get(event.seq) ?? []) {
        if (cp.hash !== event.hash)
          return fail(event.seq, 'edited', `the chain up to event ${event.seq} does not match the signed checkpoint there`);
        report.checkpointsVerified++;
      }
      report.events++;
      report.lastSeq = event.seq;
      prevPrev = prev;
      prev = event.hash;
      expected++;
    }
  }
  const lastSeq = expected - 1;
  const beyond = [...checkpointsBySeq.keys()].filter((seq) => seq > lastSeq).sort((a, b) => a - b);
  if (beyond.length > 0) {
    return fail(lastSeq + 1, 'truncated', `the chain ends at ${lastSeq} but a signed checkpoint covers event ${beyond[beyond.length - 1]}`);
  }
  return report;
}
