import type { XksAdmission } from '../xks/pipeline-ports.js';

/**
 * The node's admission for the XKS data plane (docs/architecture.md#encrypt-path stage "admit"): per-keystore request quotas,
 * a limit on requests in flight, queue-time shedding and, when turned on, shedding on event-loop lag.
 * It reads memory only. createThrottleAdmission (admission.ts) makes one from ThrottleSettings.
 */
export interface ThrottleAdmission extends XksAdmission {
  /** Requests admitted and not yet released (those waiting past their queue-time budget excluded). */
  inFlight(): number;
  /** Stops the lag monitor the admission started (none when a source was given or the gate is off). */
  close(): void;
}
