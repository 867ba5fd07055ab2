import type { AccessService } from '../access/service.js';
import type { KeyService } from '../keys/service.js';
import type { KeystoreService } from '../keystores/service.js';
import type { ApprovalPolicy } from './approval-store.js';
import type { ApprovalGate } from './gate.js';

/**
 * What each gated operation does when it runs, from the plain-JSON params its route stored.
 * A new gated route adds one `gate.define(...)` here and one `gated(...)` call in its handler.
 */
export function defineApprovalExecutors(gate: ApprovalGate, { keys, keystores, access }: { keys: KeyService; keystores: KeystoreService; access: AccessService }): void {
  gate.define('key.disable', (p: { id: string; keystore?: string }) => keys.disable(p.id, p.keystore));
  gate.define('keystore.disable', (p: { name: string }) => keystores.setStatus(p.name, 'DISABLED'));
  // Secret inputs (a given secret) or results (a generated secret): claimed by the requester, never stored.
  gate.define('credential.add', (p: { name: string; accessKeyId?: string; secret?: string }) => keystores.addCredential(p.name, { accessKeyId: p.accessKeyId, secret: p.secret }), { claim: true });
  gate.define('credential.reveal', (p: { name: string; accessKeyId?: string }) => keystores.kmsConsoleJson(p.name, p.accessKeyId), { claim: true });
  gate.define('token.create', (p: { name: string; user?: string; role?: string; ttlHours?: number }, actor) => access.createToken(p, actor), { claim: true });
  gate.define('user.passwd', (p: { user: string; password: string }, actor) => access.setPassword(p.user, p.password, actor), { claim: true });
  gate.define('role.change', (p: { user: string; roles: string[] }, actor) => access.setRoles(p.user, p.roles, actor));
  gate.define('approval-policy.change', async (p: { group: string; policy: ApprovalPolicy | null }, actor) => gate.setPolicy(p.group, p.policy ?? undefined, actor));
}
