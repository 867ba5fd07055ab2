import type { AdminEvent } from '../audit/admin-events.js';
import type { XksOperation } from '../xks/route.js';
import type { AttachTarget, Effect, PolicyMode, PolicyRule } from './document.js';
import type { TraceStep } from './evaluator.js';

/**
 * Policies over requestMetadata (docs/policies.md): documents in the database, compiled into the
 * in-memory index the data plane reads. Every edit is one method with JSON-serializable arguments (so an
 * approval can replay it); documents and targets arrive as the admin API received them and are checked
 * here. An edit writes the database, then swaps in a freshly built index (effective on the next request).
 * One implementation, createPolicyService (create-service.ts). Refusals are ManagementErrors naming the
 * bad field in one line.
 */
export interface PolicyService {
  list(): Promise<PolicyView[]>;
  show(name: string): Promise<PolicyView>;
  /** Creates a policy from its document (a PolicyDocument, checked here); attached when the document says where. */
  create(document: unknown, actor?: PolicyActor): Promise<PolicyView>;
  /**
   * Replaces a policy's document. The name stays (a document naming another policy is refused);
   * the attachment is kept unless the document gives one.
   */
  update(name: string, document: unknown, actor?: PolicyActor): Promise<PolicyView>;
  remove(name: string, actor?: PolicyActor): Promise<void>;
  /** Attaches a policy to one group, keystore or key (an AttachTarget, checked here), replacing its previous attachment. */
  attach(name: string, target: unknown, actor?: PolicyActor): Promise<PolicyView>;
  /** Detaches a policy: it stays stored but applies nowhere. */
  detach(name: string, actor?: PolicyActor): Promise<PolicyView>;
  /**
   * The groups an edit touches, by name: where the policy applies now and where `target` would make it
   * apply. Quorum approval (docs/access.md) is asked of these groups. Unknown names are left out; the
   * edit itself reports them.
   */
  groupsAffected(name: string | undefined, target?: AttachTarget): Promise<string[]>;
  /** What a group decides when no rule matches: allow (the default, v0.1 behaviour) or deny. */
  setGroupDefault(group: string, effect: Effect, actor?: PolicyActor): Promise<GroupDefaultView>;
  /** Every customer group with its default effect. */
  listGroupDefaults(): Promise<GroupDefaultView[]>;
  /**
   * Would this request be allowed, and by which rule? The data plane's own evaluation over the
   * same in-memory index; it resolves the key but never touches key material.
   */
  simulate(input: SimulationInput): SimulationResult;
  /** Builds the in-memory index from the database (node start, and changes other nodes made). A plain function. */
  readonly loadAll: () => Promise<void>;
}

/** Who edits: an admin API actor, or the node itself (`system`) when none is given. */
export type PolicyActor = AdminEvent['actor'];

export interface PolicyView {
  name: string;
  description: string;
  mode: PolicyMode;
  /** By name; absent when the policy is attached to nothing (it then applies nowhere). */
  attach?: AttachmentView;
  /** Every rule with its id (`rule-N` when the document gave none). */
  rules: (PolicyRule & { id: string })[];
  createdAt: string;
  updatedAt: string;
}

/** Where a policy applies, by name; `missing` when what it was attached to no longer exists. */
export type AttachmentView = AttachTarget | { missing: string };

export interface GroupDefaultView {
  group: string;
  default: Effect;
}

export type SimulatedOperation = Exclude<XksOperation, 'GetHealthStatus'>;

export interface SimulationInput {
  keystore: string;
  keyId: string;
  operation: SimulatedOperation;
  /**
   * As KMS would send it (RequestMetadata's fields, each a string; checked here); `kmsOperation` defaults
   * to the operation's usual one (GetKeyMetadata → DescribeKey).
   */
  requestMetadata?: Readonly<Record<string, unknown>>;
}

export interface SimulationResult {
  allowed: boolean;
  /** The deciding rule (`policy/rule`), or `default:allow` / `default:deny`. */
  decidedBy: string;
  policy?: string;
  wouldDeny?: boolean;
  wouldDenyBy?: string;
  trace: TraceStep[];
}
