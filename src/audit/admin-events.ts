/**
 * The seam through which management actions reach the audit log: admin API requests, approval steps,
 * and what the node does by itself (scheduled rotation, deletion). Never secrets, key material or tokens.
 */
export interface AdminEvent {
  /** Who acted; `system` for the node's own scheduled work. */
  actor: { kind: 'user' | 'token' | 'system'; id: string; name: string };
  /** e.g. `key.rotate`, `keystore.disable`, `approval.approve`, or `POST /api/v1/keys/:id/rotate`. */
  action: string;
  /** What it acted on, e.g. `{ key: 'demo-key', keystore: 'demo', version: 3 }`. */
  target?: Record<string, string | number | boolean | undefined>;
  outcome: 'success' | 'failure' | 'pending' | 'denied';
  /** Failure reason or other one-line context (never a secret). */
  detail?: string;
  /** HTTP status for API requests. */
  status?: number;
  latencyMs?: number;
}

export interface AdminEventSink {
  record(event: AdminEvent): Promise<void>;
}

export const discardAdminEvents: AdminEventSink = { record: () => Promise.resolve() };

/** An AdminEventSink that keeps events until it is connected to the real one. */
export interface DeferredAdminEventSink extends AdminEventSink {
  /** Hands over the events kept so far, in order, and forwards every later one. */
  connect(target: AdminEventSink): Promise<void>;
}

/**
 * A sink the management services are built with before the audit log is open (the audit log starts with
 * the node, after the services). Events recorded before `connect` are kept and handed over on connect,
 * so nothing done during start-up goes unrecorded.
 */
export function createDeferredAdminEventSink(): DeferredAdminEventSink {
  let target: AdminEventSink | undefined;
  const pending: AdminEvent[] = [];
  return {
    async record(event) {
      if (target) return target.record(event);
      pending.push(event);
    },
    async connect(next) {
      target = next;
      for (const event of pending.splice(0)) await next.record(event);
    },
  };
}
