import type { LiveKey, LiveKeystore } from '../registry/live-state.js';
import type { XksError } from './errors.js';
import type { XksRequestRecord } from './request-record.js';
import type { RequestMetadata } from './requests.js';
import type { XksOperation } from './route.js';

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
  authorize(request: { keystore: LiveKeystore; key: LiveKey; operation: Exclude<XksOperation, 'GetHealthStatus'>; metadata: RequestMetadata }): AuthorizationDecision;
}

/**
 * Stage "record": receives every answered request before its response is sent. A durable recorder
 * resolves only once the record is committed; one that rejects makes the request fail (fail closed).
 */
export interface XksRecorder {
  record(record: XksRequestRecord): Promise<void> | void;
}

/**
 * Node-wide conditions that stop crypto before a key is touched (a sealed root of trust, a kill switch).
 * Returns the error to answer with, or undefined to go on. Consulted for key operations only.
 */
export type XksGate = (operation: Exclude<XksOperation, 'GetHealthStatus'>, keystore: LiveKeystore) => XksError | undefined;

export const allowAll: XksAuthorizer = { authorize: () => ({ allowed: true }) };
export const recordNothing: XksRecorder = { record: () => undefined };
