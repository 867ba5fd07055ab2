import type { LiveKey, LiveKeystore } from '../registry/live-state.js';
import type { XksError } from './errors.js';
import type { XksRequestRecord } from './request-record.js';
import type { RequestMetadata } from './requests.js';
import type { HealthFacts } from './operations/get-health-status.js';
import type { KeyOperation, XksOperation } from './route.js';

/**
 * The data plane's seams to the rest of Keyhold. Each has a real implementation elsewhere and a
 * pass-through default here, so the handler can be built and tested with only what a test needs.
 */

/** What the "authorize" stage decides about one key operation. */
export interface AuthorizationDecision {
  allowed: boolean;
  /** The rule that decided (the denying rule when not allowed). */
  ruleId?: string;
  /** A rule in audit-only mode would have denied this allowed request. */
  wouldDeny?: boolean;
  /** For the log on denial: what denied and what it saw (never a secret). */
  detail?: string;
}

/** Stage "authorize": secondary authorization over requestMetadata. Never called for GetHealthStatus. */
export interface XksAuthorizer {
  authorize(request: { keystore: LiveKeystore; key: LiveKey; operation: KeyOperation; metadata: RequestMetadata }): AuthorizationDecision;
}

/**
 * Stage "record": receives every answered request before its response is sent. A durable recorder
 * resolves only once the record is committed; one that rejects makes the request fail (fail closed).
 */
export interface XksRecorder {
  record(record: XksRequestRecord): Promise<void> | void;
}

/**
 * A node-wide condition that stops key operations: returns the error to answer with, or undefined to go
 * on. Consulted for key operations only (GetHealthStatus still answers). The handler takes two lists:
 * availability gates, asked by "resolve" before it looks a key up (a sealed root of trust has no key
 * loaded, so it must say it is sealed, not that the key does not exist), and refusal gates, asked by
 * "check" after the policy (the kill switch).
 */
export type XksGate = (operation: KeyOperation, keystore: LiveKeystore) => XksError | undefined;

/**
 * Stage "admit": load shedding and request quotas, checked right after routing and before the body is
 * read or the signature verified (docs/requirements.md#error-order step 11: "check early, even before auth, to shed load").
 * Returns a ticket released once the request is answered, or the error to answer with (429 ThrottlingException).
 * `stillWorthIt` is asked again just before the work starts: a request that already waited so long that
 * KMS will have given up (250 ms) is shed rather than served late.
 */
export interface XksAdmission {
  admit(request: { keystore: LiveKeystore; operation: XksOperation }): XksAdmissionTicket | XksError;
}

export interface XksAdmissionTicket {
  /** Called once the request is answered (or aborted). */
  release(): void;
  /** Asked before the work starts; an error sheds the request. */
  stillWorthIt?(): XksError | undefined;
}

/**
 * Sees each request once its response has been handed to the socket (metrics). `latencyMs` is from
 * arrival to that point, recording included. Must not throw and must not do I/O.
 */
export interface XksObserver {
  observe(record: XksRequestRecord, latencyMs: number): void;
}

/**
 * What GetHealthStatus reports about the node and its EKM (fleet size, the root of trust's model and
 * health). Asked on each GetHealthStatus; implementations serve a cached deep check (docs/requirements.md#health).
 */
export type XksHealthFacts = () => Promise<HealthFacts>;

export const allowAll: XksAuthorizer = { authorize: () => ({ allowed: true }) };
export const recordNothing: XksRecorder = { record: () => undefined };
const NO_TICKET: XksAdmissionTicket = { release: () => undefined };
export const admitAll: XksAdmission = { admit: () => NO_TICKET };
