import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';

let node: TestNode;
before(async () => {
  node = await startTestNode({ idleTimeoutMs: 400 });
});
after(async () => {
  await node.close();
});

describe('connection lifetime', () => {
  it('an idle HTTP/1.1 keep-alive connection is closed after the idle timeout, a busy one is not', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: node.port, servername: 'localhost', ca: node.ca, ALPNProtocols: ['http/1.1'] });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.resume(); // read the responses, and so see the server close the connection
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    const started = Date.now();
    for (let i = 0; i < 4; i++) {
      socket.write(`GET /ping HTTP/1.1\r\nHost: ${node.host}\r\n\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(socket.destroyed, false, 'still open while in use');
    const closedAt = await closed;
    assert.ok(closedAt - started >= 800, `closed after ${closedAt - started} ms`);
  });

  it('an idle HTTP/2 session is closed after the idle timeout', async () => {
    const session = h2connect(node.url, { ca: node.ca });
    await new Promise((resolve) => session.once('connect', resolve));
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
    assert.equal(session.destroyed, true);
  });
});
