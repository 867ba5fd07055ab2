import type { AuthorizationDecision, XksAuthorizer } from '../xks/pipeline-ports.js';
import type { RequestMetadata } from '../xks/requests.js';
import {
  EMPTY_INDEX,
  evaluate,
  requestFacts,
  type PolicyDecision,
  type PolicyIndex,
  type RequestScope,
  type TraceStep,
} from './evaluator.js';

/**
 * The compiled policies the data plane reads. The policy service swaps in a new index after every
 * database write, so a change takes effect on the next request; a request in flight keeps the index it read.
 */
export class PolicyRegistry {
  private index: PolicyIndex = EMPTY_INDEX;

  get current(): PolicyIndex {
    return this.index;
  }

  replace(index: PolicyIndex): void {
    this.index = index;
  }
}

/** One decision, for the data plane and for simulate alike. */
export function decide(index: PolicyIndex, scope: RequestScope, metadata: RequestMetadata, trace?: TraceStep[]): PolicyDecision {
  return evaluate(index, scope, requestFacts(metadata), trace);
}

/**
 * What a log reader needs to fix the policy: the rule, its policy, and what the rule saw.
 * (The request log line carries the full request metadata beside it.)
 *
 *= docs/requirements.md#authorization-logging-operations
 *# 94. [SHOULD] An `AccessDeniedException` is logged with enough detail to correct the policy.
 */
export function denialDetail(decision: PolicyDecision, metadata: RequestMetadata): string {
  const who = `principal ${metadata.awsPrincipalArn ?? '(none)'}, kmsOperation ${metadata.kmsOperation}`;
  return decision.policy
    ? `denied by rule ${decision.decidedBy} of policy ${decision.policy} (${who})`
    : `no policy rule allowed it and the group default is deny (${who})`;
}

/**
 * Secondary authorization of XKS key operations (the handler never asks for GetHealthStatus):
 * an in-memory evaluation of the policies attached to the key, the keystore it came through, and its group.
 *
 *= docs/requirements.md#authorization-logging-operations
 *# 93. [SHOULD] Authorization can restrict an external key to particular AWS callers.
 *# 95. [SHOULD] The log names the policy statement that denied.
 */
export function createPolicyAuthorizer(registry: PolicyRegistry): XksAuthorizer {
  return {
    authorize({ keystore, key, metadata }): AuthorizationDecision {
      const decision = decide(
        registry.current,
        { groupId: key.record.groupId, keystoreId: keystore.keystore.id, keyId: key.record.id },
        metadata,
      );
      if (!decision.allowed) return { allowed: false, ruleId: decision.decidedBy, detail: denialDetail(decision, metadata) };
      if (decision.wouldDeny) return { allowed: true, ruleId: decision.wouldDenyBy, wouldDeny: true };
      return { allowed: true, ruleId: decision.decidedBy };
    },
  };
}
