/**
 * `keyhold serve`'s transport limit flags (docs/security.md#transport-limits): defaults, a value given, and a value
 * refused before anything starts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { networkSettings, registerNetworkOptions, type NetworkFlags } from '../../src/cli/commands/serve-network.js';
import { CliError } from '../../src/cli/cli-error.js';
import { DEFAULT_TRANSPORT_LIMITS } from '../../src/server/transport-limits.js';

function settingsOf(...args: string[]) {
  const command = registerNetworkOptions(
    new Command().option('--host <host>', '', '127.0.0.1').option('--port <port>', '', Number, 8443).exitOverride(),
  );
  command.parse(args, { from: 'user' });
  return networkSettings(command.opts<NetworkFlags>());
}

describe('serve transport limit flags', () => {
  it('default to DEFAULT_TRANSPORT_LIMITS, --max-cancelled-streams 200 among them', () => {
    assert.deepEqual(settingsOf().transport, DEFAULT_TRANSPORT_LIMITS);
    assert.equal(DEFAULT_TRANSPORT_LIMITS.maxCancelledStreams, 200);
  });

  it('--max-cancelled-streams sets the rapid reset limit; 0 or a non-number is refused', () => {
    assert.equal(settingsOf('--max-cancelled-streams', '50').transport?.maxCancelledStreams, 50);
    for (const value of ['0', 'lots', '1.5'])
      assert.throws(
        () => settingsOf('--max-cancelled-streams', value),
        (error: unknown) => {
          assert.ok(error instanceof CliError, `a CliError for ${value}`);
          assert.match(error.message, /--max-cancelled-streams: must be a whole number, at least 1/);
          return true;
        },
      );
  });
});
