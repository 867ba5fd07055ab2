import type { Command } from 'commander';
import type { FleetNodeView, FleetView } from '../../fleet/fleet-view.js';
import { callAdmin } from '../admin-client.js';
import { printJson, printTable } from '../output.js';
import { adminConnection, jsonOutput } from '../global-flags.js';

/** One node as a table row: what an operator scans for (gone, sealed, behind, a root in trouble). */
function row(node: FleetNodeView) {
  const propagation = node.propagation;
  return {
    node: `${node.id.slice(0, 8)}${node.self ? '*' : ''}`,
    state: node.state,
    address: node.address ?? '-',
    version: node.version ?? '-',
    started: node.startedAt,
    heartbeat: `${Math.round(node.heartbeatAgeMs / 1000)}s ago`,
    sealed: node.sealed === undefined ? '-' : node.sealed ? 'yes' : 'no',
    root: node.rootOfTrust ? `${node.rootOfTrust.kind} ${node.rootOfTrust.state}` : '-',
    audit: node.audit ? `${node.audit.queued} queued, ${node.audit.spooled} spooled` : '-',
    propagation: propagation
      ? `${propagation.mode === 'poll' ? 'polling' : propagation.listening ? 'listening' : 'LISTENER DOWN'}, ${propagation.behind} behind` +
        (propagation.lastLagMs === undefined ? '' : `, lag ${propagation.lastLagMs} ms`)
      : '-',
    rps: node.requestsPerSecond ?? '-',
  };
}

/** `keyhold fleet status`: every node of the fleet on this database, live or gone. */
export function registerFleetCommands(program: Command): void {
  const fleet = program.command('fleet').description('the nodes sharing this database (a fleet behind a load balancer)');
  fleet
    .command('status')
    .description('every node: address, version, heartbeat, sealed, root of trust, audit, propagation, requests/s; gone nodes too')
    .action(async (_options, command: Command) => {
      const view = await callAdmin<FleetView>(adminConnection(command), 'GET', '/fleet');
      if (jsonOutput(command)) {
        printJson(view);
        return;
      }
      printTable(
        view.nodes.map(row),
        ['node', 'state', 'address', 'version', 'started', 'heartbeat', 'sealed', 'root', 'audit', 'propagation', 'rps'],
        false,
      );
      console.log(
        `${view.live} live, ${view.gone} gone (gone: no heartbeat for ${view.liveWithinMs / 1000} s); latest change ${view.latestChangeId}; * answered`,
      );
    });
}
