/**
 * `keyhold serve --peer-unseal` and its files (docs/fleet.md#unseal): parsed before anything starts, each
 * mistake a one-line error; off unless --peer-unseal is given.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { networkSettings, registerNetworkOptions, type NetworkFlags } from '../../src/cli/commands/serve-network.js';
import { createTestCa } from '../helpers/test-pki.js';

const dir = mkdtempSync(join(tmpdir(), 'keyhold-peer-flags-'));
const file = (name: string) => join(dir, name);

/** The network flags as `serve` parses them (with its --host and --port). */
function settingsOf(...args: string[]) {
  const command = registerNetworkOptions(
    new Command().option('--host <host>', '', '127.0.0.1').option('--port <port>', '', Number, 8443).exitOverride(),
  );
  command.parse(args, { from: 'user' });
  return networkSettings(command.opts<NetworkFlags>());
}

describe('serve --peer-unseal flags', () => {
  before(async () => {
    const ca = await createTestCa('fleet CA');
    const peer = await ca.issue('node-a.fleet.test', { fleetPeer: true });
    writeFileSync(file('ca.pem'), ca.certPem);
    writeFileSync(file('cert.pem'), peer.certPem);
    writeFileSync(file('key.pem'), peer.keyPem, { mode: 0o600 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const full = () => [
    '--peer-unseal',
    '--peer-ca',
    file('ca.pem'),
    '--peer-cert',
    file('cert.pem'),
    '--peer-key',
    file('key.pem'),
    '--peer-cn',
    '*.fleet.test',
  ];

  it('off by default', () => {
    assert.equal(settingsOf().peerUnseal, undefined);
  });

  it('on with its four files and pattern; listens on --host and the XKS port + 2 unless told otherwise', () => {
    const settings = settingsOf(...full());
    assert.equal(settings.peerUnseal?.commonNamePattern, '*.fleet.test');
    assert.equal(settings.peerUnseal.host, '127.0.0.1');
    assert.equal(settings.peerUnseal.port, 8445);
    assert.equal(settingsOf(...full(), '--peer-port', '9000', '--peer-host', '10.0.0.5').peerUnseal?.port, 9000);
  });

  it('refuses each mistake with one line', () => {
    assert.throws(() => settingsOf('--peer-ca', file('ca.pem')), /--peer-ca needs --peer-unseal/);
    assert.throws(
      () => settingsOf('--peer-unseal', '--peer-ca', file('ca.pem')),
      /--peer-unseal needs --peer-ca, --peer-cert, --peer-key and --peer-cn/,
    );
    assert.throws(() => settingsOf(...full().slice(0, -1), 'bad pattern!'), /--peer-cn: /);
    const swapped = full();
    swapped[6] = file('cert.pem');
    assert.throws(() => settingsOf(...swapped), /--peer-key: .* holds no PEM private key/);
    assert.throws(() => settingsOf(...full(), '--peer-port', '70000'), /--peer-port: 70000 is not a port number/);
    assert.throws(() => settingsOf(...full().map((a) => (a === file('ca.pem') ? file('missing.pem') : a))), /--peer-ca: no file at/);
  });
});
