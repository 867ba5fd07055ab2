import type { Command } from 'commander';
import type { KillSwitchState } from '../../kill-switch/kill-switch.js';
import { callAdmin, resolveConnection, type ConnectionFlags } from '../admin-client.js';
import { printRecord } from '../output.js';

type GlobalFlags = ConnectionFlags & { json?: boolean };

/** `keyhold kill-switch on --reason R | off | status`: the node-wide stop of every XKS key operation. */
export function registerKillSwitchCommands(program: Command): void {
  const killSwitch = program
    .command('kill-switch')
    .description('stop (on) or resume (off) every XKS key operation of every keystore; survives restarts');
  const flags = (command: Command) => command.optsWithGlobals<GlobalFlags>();
  const show = (state: KillSwitchState, command: Command) =>
    printRecord({ killSwitch: state.on ? 'on' : 'off', reason: state.reason, since: state.since }, Boolean(flags(command).json));

  killSwitch
    .command('on')
    .description('stop all key operations now (XKS answers InvalidStateException; health still answers)')
    .requiredOption('--reason <text>', 'why (shown to operators, logged)')
    .action(async (options: { reason: string }, command: Command) => {
      show(
        await callAdmin<KillSwitchState>(resolveConnection(flags(command)), 'PUT', '/node/kill-switch', {
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
      show(await callAdmin<KillSwitchState>(resolveConnection(flags(command)), 'PUT', '/node/kill-switch', { on: false }), command);
    });

  killSwitch
    .command('status')
    .description('show whether the kill switch is on, and why')
    .action(async (_options, command: Command) => {
      show(await callAdmin<KillSwitchState>(resolveConnection(flags(command)), 'GET', '/node/kill-switch'), command);
    });
}
