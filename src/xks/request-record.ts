import type { RequestMetadata } from './requests.js';
import type { XksOperation } from './route.js';

/**
 * What the data plane knows about one request once it is answered: the source of its log line,
 * its audit event and its metrics. Never plaintext, AAD, key material, secrets or the Authorization header.
 */
export interface XksRequestRecord {
  /** process.hrtime.bigint() when the request arrived. */
  startedAt: bigint;
  keystore?: string;
  keystoreId?: string;
  groupId?: string;
  xksOperation?: XksOperation;
  keyId?: string;
  keyVersion?: number;
  accessKeyId?: string;
  metadata?: RequestMetadata;
  authFailure?: string;
  /** The policy rule that denied the request (or, in audit-only mode, would have). */
  policyRuleId?: string;
  /** Set when a rule in audit-only mode would have denied an allowed request. */
  policyWouldDeny?: boolean;
  status?: number;
  errorName?: string;
  detail?: string;
}
