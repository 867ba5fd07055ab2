import type { KeystoreQuota } from '../domain/types.js';
import type { LiveKeystore } from '../registry/live-state.js';
import { XksError } from '../xks/errors.js';
import type { XksAdmission, XksAdmissionTicket } from '../xks/pipeline-ports.js';
import { TokenBucket, type MonotonicMs } from './token-bucket.js';

export interface ThrottleSettings {
  /**
   * Most requests working at once on this node (from the start of their work until their answer is
   * recorded); more answer 429 at once. 0: no limit.
   */
  maxInFlight?: number;
  /** A request that waited longer than this between arrival and the start of its work is shed (429). 0: never. */
  shedAfterMs?: number;
  /** Monotonic milliseconds (default performance.now); tests drive quotas and queue time with a manual one. */
  now?: MonotonicMs;
}

export const DEFAULT_MAX_IN_FLIGHT = 256;
export const DEFAULT_SHED_AFTER_MS = 100;

/** Why a request was throttled; the record's `detail` starts with it (`quota: …`), for logs, audit and metrics. */
export type ThrottleReason = 'quota' | 'concurrency' | 'queue-time';

/** The reason of a throttled request's record detail, or undefined when it was not throttled. */
export function throttleReason(detail: string | undefined): ThrottleReason | undefined {
  const reason = detail?.slice(0, detail.indexOf(':'));
  return reason === 'quota' || reason === 'concurrency' || reason === 'queue-time' ? reason : undefined;
}

// The public message is what KMS relays to its caller; details stay in the log and audit.
const PUBLIC_MESSAGE = 'The request rate is too high; reduce the frequency of calls';
const throttled = (reason: ThrottleReason, detail: string) => new XksError('ThrottlingException', PUBLIC_MESSAGE, `${reason}: ${detail}`);

/**
 * Admission for the XKS data plane (DESIGN.md §3 stage "admit"): per-keystore request quotas, a node-wide
 * limit on requests in flight, and queue-time shedding. Reads memory only.
 *
 * Checked twice. At admission (after routing, before the body is read) a request is refused cheaply when
 * the node is already full or its keystore's bucket is empty. Just before its work starts (body read,
 * signature verified) it is shed if it waited too long, refused if the node filled up meanwhile, and only
 * then takes a quota token and a slot. So only requests signed with a keystore's credentials spend its
 * quota (an unauthenticated flood to a known prefix cannot starve the tenant), and a client that sends
 * its body slowly holds no slot.
 *
 *= xks-spec.md#14.1
 *# 15. [MAY] Per-prefix request quotas answered with 429 `ThrottlingException`.
 */
export function createThrottleAdmission(settings: ThrottleSettings = {}): XksAdmission & { inFlight(): number } {
  const maxInFlight = settings.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const shedAfterMs = settings.shedAfterMs ?? DEFAULT_SHED_AFTER_MS;
  const now = settings.now ?? (() => performance.now());
  if (!Number.isInteger(maxInFlight) || maxInFlight < 0) throw new RangeError('maxInFlight must be a whole number, 0 for no limit');
  if (!Number.isFinite(shedAfterMs) || shedAfterMs < 0) throw new RangeError('shedAfterMs must be a number of milliseconds, 0 for never');

  /** Buckets by keystore id; a keystore's bucket follows its live quota (created, re-rated, dropped). */
  const buckets = new Map<string, TokenBucket>();
  let working = 0;

  function bucketFor(keystore: LiveKeystore): TokenBucket | undefined {
    const { id, quota } = keystore.keystore;
    const bucket = buckets.get(id);
    if (!quota) {
      if (bucket) buckets.delete(id);
      return undefined;
    }
    if (!bucket) {
      const created = new TokenBucket(quota, now);
      buckets.set(id, created);
      return created;
    }
    if (!sameQuota(bucket.currentRate(), quota)) bucket.setRate(quota);
    return bucket;
  }

  const full = () => maxInFlight > 0 && working >= maxInFlight;
  const overQuota = (quota: KeystoreQuota | undefined) => throttled('quota', `keystore request quota exceeded (${quota?.rps}/s, burst ${quota?.burst})`);
  const overConcurrency = () => throttled('concurrency', `node limit of ${maxInFlight} requests in flight reached`);

  class Ticket implements XksAdmissionTicket {
    private holdsSlot = false;
    constructor(
      private readonly keystore: LiveKeystore,
      private readonly admittedAt: number,
    ) {}

    stillWorthIt(): XksError | undefined {
      const waitedMs = now() - this.admittedAt;
      if (shedAfterMs > 0 && waitedMs > shedAfterMs) {
        return throttled('queue-time', `waited ${Math.round(waitedMs)} ms before its work started (limit ${shedAfterMs} ms)`);
      }
      if (full()) return overConcurrency();
      const bucket = bucketFor(this.keystore);
      if (bucket && !bucket.take()) return overQuota(this.keystore.keystore.quota);
      working += 1;
      this.holdsSlot = true;
      return undefined;
    }

    release(): void {
      if (!this.holdsSlot) return;
      this.holdsSlot = false;
      working -= 1;
    }
  }

  return {
    admit({ keystore }) {
      if (full()) return overConcurrency();
      const bucket = bucketFor(keystore);
      if (bucket && !bucket.hasToken()) return overQuota(keystore.keystore.quota);
      return new Ticket(keystore, now());
    },
    inFlight: () => working,
  };
}

function sameQuota(a: KeystoreQuota, b: KeystoreQuota): boolean {
  return a.rps === b.rps && a.burst === b.burst;
}
