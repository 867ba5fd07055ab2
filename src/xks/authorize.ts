import type { LiveKey, LiveKeystore } from '../registry/live-state.js';
import { XksError } from './errors.js';
import type { XksAuthorizer } from './pipeline-ports.js';
import type { XksRequestRecord } from './request-record.js';
import type { RequestMetadata } from './requests.js';
import type { KeyOperation } from './route.js';

/**
 * Stage "authorize": secondary authorization (policies) over requestMetadata, for key operations only.
 * A denying rule answers 403 AccessDeniedException; the deciding rule is named in the record.
 *
 *= docs/requirements.md#health
 *# 62. [MUST] GetHealthStatus is outside secondary authorization: it passes even under a deny-all policy.
 * (GetHealthStatus never reaches this stage: its route carries no key.)
 */
export function authorize(
  authorizer: XksAuthorizer,
  operation: KeyOperation,
  keystore: LiveKeystore,
  key: LiveKey,
  metadata: RequestMetadata,
  record: XksRequestRecord,
): void {
  const decision = authorizer.authorize({ keystore, key, operation, metadata });
  record.policyRuleId = decision.ruleId;
  record.policyWouldDeny = decision.wouldDeny;
  if (!decision.allowed) {
    throw new XksError('AccessDeniedException', "The request was denied by the external key manager's policy", decision.detail);
  }
}
