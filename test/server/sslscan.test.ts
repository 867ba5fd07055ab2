/**
 * The TLS configuration as a scanner sees it (docs/security.md#tls-scan): sslscan (Debian) against a running
 * node: no protocol below TLS 1.2, every accepted cipher with forward secrecy (ECDHE, or TLS 1.3) and AEAD
 * (GCM or ChaCha20-Poly1305). docs/requirements.md#transport items 3 and 4 are tested in test/xks/transport.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';

const run = promisify(execFile);
const installed = await run('sslscan', ['--version']).then(
  () => true,
  () => false,
);

describe('sslscan against a node', { skip: installed ? false : 'sslscan is not installed (.ci/run installs it)' }, () => {
  let node: TestNode;
  let xml = '';
  before(async () => {
    node = await startTestNode();
    ({ stdout: xml } = await run('sslscan', ['--no-colour', '--xml=-', '--sni-name=localhost', `127.0.0.1:${node.port}`], {
      timeout: 50_000,
    }));
  });
  after(() => node.close());

  it('no protocol below TLS 1.2 is enabled; TLS 1.2 and 1.3 are', () => {
    const enabled = [...xml.matchAll(/<protocol type="(\w+)" version="([\d.]+)" enabled="1"/g)].map((m) => `${m[1]}${m[2]}`);
    assert.deepEqual(enabled.sort(), ['tls1.2', 'tls1.3']);
  });

  it('every accepted cipher has forward secrecy and is AEAD', () => {
    const ciphers = [...xml.matchAll(/<cipher status="\w+" sslversion="([^"]+)" bits="\d+" cipher="([^"]+)"/g)].map((m) => ({
      version: m[1]!,
      cipher: m[2]!,
    }));
    assert.ok(ciphers.length >= 4, xml.slice(0, 500));
    for (const { version, cipher } of ciphers) {
      assert.match(version, /^TLSv1\.[23]$/, cipher);
      if (version === 'TLSv1.2') assert.match(cipher, /^ECDHE-/, `${cipher}: forward secrecy`);
      assert.match(cipher, /GCM|CHACHA20/, `${cipher}: AEAD`);
    }
  });

  it('renegotiation is not supported (refused outright, docs/security.md#transport-limits)', () => {
    assert.match(xml, /<renegotiation supported="0"/);
  });
});
