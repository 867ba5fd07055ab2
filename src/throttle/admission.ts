import type { KeystoreQuota } from '../domain/types.js';
import type { LiveKeystore } from '../registry/live-state.js';
import { LoadShedError, XksError } from '../xks/errors.js';
import type { XksAdmissionTicket } from '../xks/pipeline-ports.js';
import { LagGate, monitorEventLoopLag, type EventLoopLag } from './event-loop-lag.js';
import type { ThrottleAdmission } from './throttle-admission.js';
import { TokenBucket, type MonotonicMs } from './token-bucket.js';

export interface ThrottleSettings {
  /**
   * Most requests in flight on this node, from admission (before the body is read) until the answer is
   * recorded; more answer 429 at once. 0: no limit.
   */
  maxInFlight?: number;
  /** A request that waited longer than this between arrival and the start of its work is shed (429). 0: never. */
  shedAfterMs?: number;
  /**
   * While the event loop runs more than this late, a growing share of new requests answers 429 at once
   * (overload; at most 9 in 10), until the lag is back to half of it (LagGate). 0: never. Must be under 250.
   */
  shedOnLagMs?: number;
  /** Where the lag is read (default: a monitor the admission starts and `close()` stops); tests inject one. */
  eventLoopLag?: EventLoopLag;
  /** Monotonic milliseconds (default performance.now); tests drive quotas and queue time with a manual one. */
  now?: MonotonicMs;
}

export const DEFAULT_MAX_IN_FLIGHT = 256;
export const DEFAULT_SHED_AFTER_MS = 100;
/**
 * Off by default: measured with bench/overload.ts (docs/throttling.md), a node's per-request cost is mostly
 * TLS, HTTP and the audit record, which a 429 pays too, so shedding on lag turned 200s into 429s without
 * making answers earlier. An operator can turn it on as a safety valve.
 */
export const DEFAULT_SHED_ON_LAG_MS = 0;

/** Why a request was throttled; the record's `detail` starts with it (`quota: …`), for logs, audit and metrics. */
export type ThrottleReason = 'quota' | 'concurrency' | 'queue-time' | 'overload';
const THROTTLE_REASONS: readonly ThrottleReason[] = ['quota', 'concurrency', 'queue-time', 'overload'];

/** The reason of a throttled request's record detail, or undefined when it was not throttled. */
export function throttleReason(detail: string | undefined): ThrottleReason | undefined {
  const reason = detail?.slice(0, detail.indexOf(':'));
  return THROTTLE_REASONS.find((known) => known === reason);
}

// The public message is what KMS relays to its caller; details stay in the log and audit.
const PUBLIC_MESSAGE = 'The request rate is too high; reduce the frequency of calls';
/**
 * Which refusals are load shedding, decided here: the node-wide limits (in flight, queue time, event-loop
 * overload) refuse work the node cannot do in time, before any policy, key or crypto work, so their answer
 * need not wait for the audit commit (LoadShedError). A quota refusal is a decision about one keystore's
 * use, set by its operator: it keeps its full record, committed before the answer, like a policy denial.
 */
const shed = (reason: Exclude<ThrottleReason, 'quota'>, detail: string) => new LoadShedError(PUBLIC_MESSAGE, `${reason}: ${detail}`);
const overQuota = (quota: KeystoreQuota | undefined) =>
  new XksError('ThrottlingException', PUBLIC_MESSAGE, `quota: keystore request quota exceeded (${quota?.rps}/s, burst ${quota?.burst})`);

/**
 * The node's throttle admission (throttle-admission.ts): per-keystore request quotas, a node-wide limit on
 * requests in flight, and queue-time shedding. Reads memory only; O(1) amortized per request.
 *
 * At admission (after routing, before the body is read or the signature checked) a request is refused at
 * once when the node already has `maxInFlight` requests in flight or its keystore's bucket is empty; a
 * refusal there costs no body read and no HMAC. Just before its work starts it is shed if it waited longer
 * than `shedAfterMs` since admission, and only then takes a quota token: only requests signed with a
 * keystore's credentials spend its quota, so an unauthenticated flood to a known prefix cannot starve the
 * tenant (it is refused only while the bucket is empty anyway).
 *
 * A request still waiting for its body more than `shedAfterMs` after admission stops counting toward the
 * limit (it will be shed when its body arrives): a client that sends bodies slowly cannot hold the
 * node's slots for longer than that.
 *
 * Queue time is measured from admission, on the admission's own clock (so tests can drive it); arrival
 * precedes admission by the routing only. What neither sees is the time a request waited before the
 * handler saw it (socket buffers, TLS, a busy event loop): while the event loop itself runs more than
 * `shedOnLagMs` late, a share of new requests is refused at admission too (overload), so the node spends
 * its turns answering cheap 429s instead of starting work whose answer would come after KMS's 250 ms.
 *
 *= docs/requirements.md#transport
 *# 15. [MAY] Each path prefix has its own request quota, answered 429 `ThrottlingException` when exceeded.
 */
export function createThrottleAdmission(settings: ThrottleSettings = {}): ThrottleAdmission {
  const maxInFlight = settings.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const shedAfterMs = settings.shedAfterMs ?? DEFAULT_SHED_AFTER_MS;
  const shedOnLagMs = settings.shedOnLagMs ?? DEFAULT_SHED_ON_LAG_MS;
  const now = settings.now ?? (() => performance.now());
  if (!Number.isInteger(maxInFlight) || maxInFlight < 0) throw new RangeError('maxInFlight must be a whole number, 0 for no limit');
  if (!Number.isFinite(shedAfterMs) || shedAfterMs < 0) throw new RangeError('shedAfterMs must be a number of milliseconds, 0 for never');
  if (!Number.isFinite(shedOnLagMs) || shedOnLagMs < 0 || shedOnLagMs >= 250)
    throw new RangeError('shedOnLagMs must be a number of milliseconds under 250, 0 for never');

  // The lag monitor runs only when the gate is on, and only if the caller did not bring its own source.
  const monitor = shedOnLagMs > 0 && !settings.eventLoopLag ? monitorEventLoopLag() : undefined;
  const lagSource = settings.eventLoopLag ?? monitor;
  const lagGate = shedOnLagMs > 0 && lagSource ? new LagGate(lagSource, shedOnLagMs, now) : undefined;

  /** Buckets by keystore id; a keystore's bucket follows its live quota (created, re-rated, dropped). */
  const buckets = new Map<string, TokenBucket>();
  /** Requests admitted and working (past stillWorthIt), until released. */
  let working = 0;
  /** Requests admitted and not yet at stillWorthIt, oldest first; entries that left are skipped lazily. */
  let waiting: Ticket[] = [];
  let waitingHead = 0;
  let waitingCount = 0;

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

  /** Stops counting waiting requests that are past their queue-time budget (they will be shed), and drops left ones. */
  function expireWaiting(at: number): void {
    for (let ticket = waiting[waitingHead]; ticket !== undefined; ticket = waiting[waitingHead]) {
      if (ticket.state === 'waiting') {
        if (shedAfterMs === 0 || at - ticket.admittedAt <= shedAfterMs) break;
        ticket.state = 'expired';
        waitingCount -= 1;
      }
      waitingHead += 1;
    }
    // Compact: drop what was skipped, and entries that left behind a long-waiting head (shedding off).
    if (waitingHead > 1024 && waitingHead * 2 > waiting.length) {
      waiting = waiting.slice(waitingHead);
      waitingHead = 0;
    } else if (waiting.length > 4096 && waiting.length - waitingHead > 4 * (waitingCount + 1)) {
      waiting = waiting.slice(waitingHead).filter((t) => t.state === 'waiting');
      waitingHead = 0;
    }
  }

  const inFlight = () => working + waitingCount;

  class Ticket implements XksAdmissionTicket {
    state: 'waiting' | 'expired' | 'working' | 'done' = 'waiting';
    constructor(
      private readonly keystore: LiveKeystore,
      readonly admittedAt: number,
    ) {}

    stillWorthIt(): XksError | undefined {
      const waitedMs = now() - this.admittedAt;
      const wasWaiting = this.state === 'waiting';
      this.state = 'done';
      if (wasWaiting) waitingCount -= 1;
      if (shedAfterMs > 0 && waitedMs > shedAfterMs) {
        return shed('queue-time', `waited ${Math.round(waitedMs)} ms before its work started (limit ${shedAfterMs} ms)`);
      }
      const bucket = bucketFor(this.keystore);
      if (bucket && !bucket.take()) return overQuota(this.keystore.keystore.quota);
      this.state = 'working';
      working += 1;
      return undefined;
    }

    release(): void {
      if (this.state === 'working') working -= 1;
      else if (this.state === 'waiting') waitingCount -= 1;
      this.state = 'done';
    }
  }

  return {
    admit({ keystore }) {
      const overload = lagGate?.check();
      if (overload) {
        const { lagMs, admitShare } = overload;
        return shed(
          'overload',
          `event loop ${Math.round(lagMs)} ms behind (limit ${shedOnLagMs} ms), admitting ${Math.round(admitShare * 100)} % of requests`,
        );
      }
      const at = now();
      if (maxInFlight > 0) {
        expireWaiting(at);
        if (inFlight() >= maxInFlight) return shed('concurrency', `node limit of ${maxInFlight} requests in flight reached`);
      }
      const bucket = bucketFor(keystore);
      if (bucket && !bucket.hasToken()) return overQuota(keystore.keystore.quota);
      const ticket = new Ticket(keystore, at);
      // Only a limit needs to know which waiting requests have expired.
      if (maxInFlight > 0) waiting.push(ticket);
      waitingCount += 1;
      return ticket;
    },
    inFlight,
    close: () => monitor?.stop(),
  };
}

function sameQuota(a: KeystoreQuota, b: KeystoreQuota): boolean {
  return a.rps === b.rps && a.burst === b.burst;
}
