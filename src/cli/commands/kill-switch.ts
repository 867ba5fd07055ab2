import type { Command } from 'commander';
import type { KillSwitchState } from '../../kill-switch/kill-switch.js';
import { callAdmin } from '../admin-client.js';
import { printRecord } from '../output.js';
import { adminConnection, jsonOutput } from '../global-flags.js';

/** `keyhold kill-switch on --reason R | off | status`: the node-wide stop of every XKS key operation. */
export function registerKillSwitchCommands(program: Command): void {
  const killSwitch = program
    .command('kill-switch')
    .description('stop (on) or resume (off) every XKS key operation of every keystore; survives restarts');
  const show = (state: KillSwitchState, command: Command) =>
    printRecord({ killSwitch: state.on ? 'on' : 'off', reason: state.reason, since: state.since }, jsonOutput(command));

  killSwitch
    .command('on')
    .description('stop all key operations now (XKS answers InvalidStateException; health still answers)')
    .requiredOption('--reason <text>', 'why (shown to operators, logged)')
    .action(async (options: { reason: string }, command: Command) => {
      show(
        await callAdmin<KillSwitchState>(adminConnection(command), 'PUT', '/node/kill-switch', {
          on: true,
          reason: options.reason,
        }),
        command,
      );
    });

  killSwitch
    .command('off')
    .description('resume key operations')
    .action(async (_options, command: Command) => {
      show(await callAdmin<KillSwitchState>(adminConnection(command), 'PUT', '/node/kill-switch', { on: false }), command);
    });

  killSwitch
    .command('status')
    .description('show whether the kill switch is on, and why')
    .action(async (_options, command: Command) => {
      show(await callAdmin<KillSwitchState>(adminConnection(command), 'GET', '/node/kill-switch'), command);
    });
}
