/**
 * Operations a group's approval policy can put under quorum. Some are wired by routes in this
 * checkout (see docs/access.md); the others are named here so policies can list them before the
 * routes that perform them are wired.
 */
export const APPROVAL_OPERATIONS = [
  'key.destroy',
  'key.schedule-deletion',
  'key.disable',
  'key.block',
  'key.rotation-policy',
  'key.import',
  'keystore.disable',
  'keystore.block',
  'credential.add',
  'credential.reveal',
  'policy.edit',
  'role.change',
  'token.create',
  'user.passwd',
  'approval-policy.change',
  'backup.create',
] as const;

export type ApprovalOperation = (typeof APPROVAL_OPERATIONS)[number];

/**
 * The policy scope for operations that belong to no group (role.change, token.create, user.passwd,
 * backup.create): the
 * node-wide policy. Putting all three under it keeps a single administrator from acting as an approver
 * (by minting a token for one, or setting their password).
 */
export const NODE_WIDE = '*';

export const isApprovalOperation = (name: string): name is ApprovalOperation => APPROVAL_OPERATIONS.some((operation) => operation === name);
