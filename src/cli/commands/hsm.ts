import type { Command } from 'commander';
import type { NodeStatus } from '../../admin/routes/node.js';
import { callAdmin } from '../admin-client.js';
import { printRecord } from '../output.js';
import { adminConnection, jsonOutput } from '../global-flags.js';

/** `keyhold hsm status`: the running node's root of trust, its state and model (GET /api/v1/node). */
export function registerHsmCommands(program: Command): void {
  const hsm = program.command('hsm').description('the root of trust of the running node (see docs/root-of-trust.md)');
  hsm
    .command('status')
    .description('show the root of trust: kind, state (ACTIVE, DEGRADED, UNAVAILABLE), HSM model and token')
    .action(async (_options, command: Command) => {
      const status = await callAdmin<NodeStatus>(adminConnection(command), 'GET', '/node');
      printRecord(
        { rootOfTrust: status.rootOfTrust, state: status.rootOfTrustState, model: status.rootOfTrustModel, ekmHealth: status.ekmHealth },
        jsonOutput(command),
      );
    });
}
