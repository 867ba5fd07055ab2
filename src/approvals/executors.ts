import type { AccessService, NewToken } from '../access/service.js';
import type { NodeBackups } from '../backup/node-backups.js';
import type { KeyService } from '../keys/service.js';
import type { KeystoreService } from '../keystores/keystore-service.js';
import type { Effect } from '../policies/document.js';
import type { PolicyActor, PolicyService } from '../policies/service.js';
import type { ApprovalPolicy } from './approval-store.js';
import type { ApprovalGate } from './gate.js';

/**
 * Every policy edit, as one approval operation (`policy.edit`) whose params say which edit. Documents and
 * targets are as the admin API received them; the policy service checks them when the edit runs.
 */
export type PolicyEdit =
  | { edit: 'create'; document: unknown }
  | { edit: 'update'; name: string; document: unknown }
  | { edit: 'remove'; name: string }
  | { edit: 'attach'; name: string; target: unknown }
  | { edit: 'detach'; name: string }
  | { edit: 'set-default'; group: string; default: Effect };

export function runPolicyEdit(policies: PolicyService, p: PolicyEdit, actor?: PolicyActor): Promise<unknown> {
  switch (p.edit) {
    case 'create':
      return policies.create(p.document, actor);
    case 'update':
      return policies.update(p.name, p.document, actor);
    case 'remove':
      return policies.remove(p.name, actor);
    case 'attach':
      return policies.attach(p.name, p.target, actor);
    case 'detach':
      return policies.detach(p.name, actor);
    case 'set-default':
      return policies.setGroupDefault(p.group, p.default, actor);
  }
}

/**
 * What each gated operation does when it runs, from the plain-JSON params its route stored.
 * A new gated route adds one `gate.define(...)` here and one `gated(...)` call in its handler.
 */
export function defineApprovalExecutors(
  gate: ApprovalGate,
  { keys, keystores, access, policies }: { keys: KeyService; keystores: KeystoreService; access: AccessService; policies: PolicyService },
): void {
  gate.define('policy.edit', (p: PolicyEdit, actor) => runPolicyEdit(policies, p, actor));
  gate.define('key.disable', (p: { id: string; keystore?: string }) => keys.disable(p.id, p.keystore));
  gate.define('key.block', (p: Parameters<KeyService['block']>[0]) => keys.block(p));
  gate.define('key.schedule-deletion', (p: Parameters<KeyService['scheduleDeletion']>[0]) => keys.scheduleDeletion(p));
  gate.define('key.rotation-policy', (p: Parameters<KeyService['setRotationPolicy']>[0]) => keys.setRotationPolicy(p));
  gate.define('key.import', (p: Parameters<KeyService['importKey']>[0]) => keys.importKey(p));
  gate.define('key.destroy', (p: Parameters<KeyService['destroyVersion']>[0]) => keys.destroyVersion(p));
  gate.define('keystore.block', (p: Parameters<KeystoreService['block']>[0]) => keystores.block(p));
  gate.define('keystore.disable', (p: { name: string }) => keystores.setStatus(p.name, 'DISABLED'));
  // Secret inputs (a given secret) or results (a generated secret): claimed by the requester, never stored.
  gate.define(
    'credential.add',
    (p: { name: string; accessKeyId?: string; secret?: string }) =>
      keystores.addCredential(p.name, { accessKeyId: p.accessKeyId, secret: p.secret }),
    { claim: true },
  );
  gate.define('credential.reveal', (p: { name: string; accessKeyId?: string }) => keystores.kmsConsoleJson(p.name, p.accessKeyId), {
    claim: true,
  });
  gate.define('token.create', (p: NewToken, actor) => access.createToken(p, actor), { claim: true });
  gate.define('user.passwd', (p: { user: string; password: string }, actor) => access.setPassword(p.user, p.password, actor), {
    claim: true,
  });
  gate.define('role.change', (p: { user: string; roles: string[] }, actor) => access.setRoles(p.user, p.roles, actor));
  gate.define('approval-policy.change', async (p: { group: string; policy: ApprovalPolicy | null }, actor) =>
    gate.setPolicy(p.group, p.policy ?? undefined, actor),
  );
}

/**
 * `backup.create` (POST /backups), claim mode: the executor takes the snapshot and hands it to the requester's
 * request, which seals it under the passphrase it carries. The gate sees only `{ withAudit }`, so neither the
 * passphrase nor a digest of it is stored with a pending request. Defined by the serving node, which alone
 * has the node's backups (startNode).
 */
export function defineBackupExecutor(gate: ApprovalGate, backups: Pick<NodeBackups, 'snapshot'>): void {
  gate.define('backup.create', (p: { withAudit: boolean }) => backups.snapshot(p.withAudit), { claim: true });
}
