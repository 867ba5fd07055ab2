import type { Command } from 'commander';
import type { ApprovalPolicy } from '../../approvals/approval-store.js';
import type { ApprovalView, VoteView } from '../../approvals/gate.js';
import { callAdmin, pathSegment } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { printJson, printRecord, printTable } from '../output.js';
import { adminConnection, commaList, jsonOutput } from '../global-flags.js';

/** Named approvers and `role R`, as one list. */
function approverNames(approvers: ApprovalPolicy['approvers']): string[] {
  return [...(approvers.users ?? []), ...(approvers.role ? [`role ${approvers.role}`] : [])];
}

/** A vote as text: the voter, and their comment (on one line) when they gave one. */
const voteText = (vote: VoteView) => (vote.comment === undefined ? vote.user : `${vote.user} ("${vote.comment.replace(/\s+/g, ' ')}")`);

export function registerApprovalCommands(program: Command): void {
  /** An approval request as text: voters by name, approvers as one list. */
  const record = (a: ApprovalView) => ({
    ...a,
    approvals: a.approvals.map(voteText),
    denials: a.denials.map(voteText),
    approvers: approverNames(a.approvers),
    result: a.result === undefined ? undefined : JSON.stringify(a.result),
  });
  /** A policy as text (JSON keeps the API's approvers object). */
  const printPolicy = (group: string, policy: ApprovalPolicy, command: Command) =>
    jsonOutput(command)
      ? printJson({ group, ...policy })
      : printRecord({ group, ...policy, approvers: approverNames(policy.approvers) }, false);

  const approvals = program.command('approvals').description('quorum approval requests: list, show, approve, deny');
  approvals
    .command('list')
    .description('list approval requests')
    .option('--status <status>', 'pending | approved | executing | done | failed | denied | expired')
    .action(async (options: { status?: string }, command: Command) => {
      const query = options.status ? `?status=${encodeURIComponent(options.status)}` : '';
      const rows = await callAdmin<ApprovalView[]>(adminConnection(command), 'GET', `/approvals${query}`);
      if (jsonOutput(command)) return printJson(rows);
      printTable(
        rows.map((a) => ({ ...a, votes: `${a.approvals.length}/${a.required}` })),
        ['id', 'operation', 'group', 'status', 'votes', 'requester', 'expiresAt', 'summary'],
        false,
      );
    });
  approvals
    .command('show <id>')
    .description('show an approval request')
    .action(async (id: string, _options, command: Command) => {
      const view = await callAdmin<ApprovalView>(adminConnection(command), 'GET', `/approvals/${pathSegment(id)}`);
      if (jsonOutput(command)) printJson(view);
      else printRecord(record(view), false);
    });
  for (const decision of ['approve', 'deny'] as const) {
    approvals
      .command(`${decision} <id>`)
      .description(decision === 'approve' ? 'approve a request (the last approval runs it)' : 'deny a request (one denial rejects it)')
      .option('--comment <text>', 'why (at most 1,000 characters), kept with your vote and shown with the request')
      .action(async (id: string, options: { comment?: string }, command: Command) => {
        const body = options.comment === undefined ? undefined : { comment: options.comment };
        const view = await callAdmin<ApprovalView>(adminConnection(command), 'POST', `/approvals/${pathSegment(id)}/${decision}`, body);
        if (jsonOutput(command)) printJson(view);
        else printRecord(record(view), false);
      });
  }

  const policy = program
    .command('approval-policy')
    .description('which operations of a group need M-of-N approvals (group * : node-wide, e.g. role.change)');
  const groupPath = (group: string) => `/groups/${pathSegment(group)}/approval-policy`;
  policy
    .command('show')
    .description("show a group's approval policy")
    .requiredOption('--group <name>', 'group name, or * for node-wide operations')
    .action(async (options: { group: string }, command: Command) => {
      const current = await callAdmin<ApprovalPolicy | { policy: null }>(adminConnection(command), 'GET', groupPath(options.group));
      // No policy: the API's `{policy: null}` in JSON, `none` in text.
      if ('policy' in current) printRecord({ group: options.group, policy: jsonOutput(command) ? null : 'none' }, jsonOutput(command));
      else printPolicy(options.group, current, command);
    });
  policy
    .command('set')
    .description("set a group's approval policy (may itself need approval: approval-policy.change)")
    .requiredOption('--group <name>', 'group name, or * for node-wide operations')
    .requiredOption('--operations <ops>', 'comma-separated, e.g. key.disable,credential.reveal')
    .requiredOption('--required <m>', 'approvals needed')
    .option('--users <names>', 'comma-separated approvers')
    .option('--role <role>', 'every user with this role is an approver (e.g. approver)')
    .option('--expires-after-hours <h>', 'a request expires after this long', '24')
    .action(
      async (
        options: { group: string; operations: string; required: string; users?: string; role?: string; expiresAfterHours: string },
        command: Command,
      ) => {
        const required = Number(options.required);
        const expiresAfterHours = Number(options.expiresAfterHours);
        if (!Number.isInteger(required)) throw new CliError('--required must be a whole number', 2);
        if (!Number.isFinite(expiresAfterHours)) throw new CliError('--expires-after-hours must be a number', 2);
        const body: ApprovalPolicy = {
          operations: commaList(options.operations),
          approvers: { ...(options.users ? { users: commaList(options.users) } : {}), ...(options.role ? { role: options.role } : {}) },
          required,
          expiresAfterHours,
        };
        printPolicy(
          options.group,
          await callAdmin<ApprovalPolicy>(adminConnection(command), 'PUT', groupPath(options.group), body),
          command,
        );
      },
    );
  policy
    .command('remove')
    .description("remove a group's approval policy (may itself need approval)")
    .requiredOption('--group <name>', 'group name, or * for node-wide operations')
    .action(async (options: { group: string }, command: Command) => {
      await callAdmin(adminConnection(command), 'DELETE', groupPath(options.group));
      if (jsonOutput(command)) printJson({ group: options.group, policy: null });
      else console.log(`Approval policy of ${options.group} removed`);
    });
}
