/** What the management services' tests share: an audit sink that keeps what it is given, and refusal checks. */
import type { AdminEvent, AdminEventSink } from '../../src/audit/admin-events.js';
import { ManagementError } from '../../src/core/errors.js';

/** An AdminEventSink that keeps every event in `events` (in order), for assertions. */
export function recordingEvents(): AdminEventSink & { events: AdminEvent[] } {
  const events: AdminEvent[] = [];
  return {
    events,
    record(event) {
      events.push(event);
      return Promise.resolve();
    },
  };
}

/**
 * An `assert.rejects` / `assert.throws` check: a one-line ManagementError of this kind whose message
 * matches.
 */
export const refusedWith =
  (kind: ManagementError['kind'], pattern: RegExp) =>
  (error: unknown): boolean =>
    error instanceof ManagementError && error.kind === kind && pattern.test(error.message) && !error.message.includes('\n');
