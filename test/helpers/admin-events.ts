/** An admin event sink for tests: keeps what management actions record, in order. */
import type { AdminEvent, AdminEventSink } from '../../src/audit/admin-events.js';

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
