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

export const discardAdminEvents: AdminEventSink = { record: async () => undefined };
