/**
 * Transport attacks against a real node with small limits (docs/security.md#transport-limits): slow headers, slow
 * body, oversized headers and header counts, a connection flood past the cap, HTTP/2 rapid reset, TLS
 * renegotiation. After each, the node still answers signed XKS traffic. Bounded: loopback, a few seconds each.
 */
import assert from 'node:assert/strict';
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { delay } from '../cli/processes.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { okBody } from '../helpers/xks-answers.js';
import { healthBody, xks } from '../helpers/xks-client.js';

const LIMITS = {
  handshakeTimeoutMs: 5_000,
  headersTimeoutMs: 1_000,
  requestTimeoutMs: 2_000,
  maxConnections: 60,
  maxHeaderBytes: 4_096,
  maxHeaderCount: 30,
  maxConcurrentStreams: 20,
  maxRejectedStreams: 50,
};

let node: TestNode;
before(async () => {
  // Short idle timeout: what the attacks leave behind does not hold the node's shutdown.
  node = await startTestNode({ transport: LIMITS, idleTimeoutMs: 2_000 });
});
after(() => node.close());

async function stillServes(): Promise<void> {
  okBody(await xks(node, { operation: 'health', body: healthBody() }), 'health');
}

/** A TLS connection speaking HTTP/1.1 (ALPN), resolved once the handshake completes. */
function tlsSocket(options: { maxVersion?: 'TLSv1.2' } = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port: node.port, servername: 'localhost', ca: node.ca, ALPNProtocols: ['http/1.1'], ...options },
      () => resolve(socket),
    );
    socket.once('error', reject);
  });
}

/** Waits for the socket to close; resolves with what the server sent first, and how long it took. */
function closed(socket: Socket, timeoutMs: number): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, ms: Date.now() - started });
    });
  });
}

const requestHead = (extra = '') => `POST /ping HTTP/1.1\r\nHost: localhost:${node.port}\r\n${extra}`;

describe('transport limits', () => {
  it('slow headers (slowloris): a request whose headers never finish is cut after --headers-timeout-ms', async () => {
    const socket = await tlsSocket();
    socket.write(requestHead('X-Slow: 1\r\n'));
    const { text, ms } = await closed(socket, 8_000);
    assert.ok(ms >= LIMITS.headersTimeoutMs - 100, `${ms} ms`);
    assert.match(text, /^HTTP\/1\.1 408 /);
    await stillServes();
  });

  it('slow body: a request whose body never finishes is cut after --request-timeout-ms', async () => {
    const socket = await tlsSocket();
    socket.write(requestHead('Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":'));
    const { ms } = await closed(socket, 10_000);
    assert.ok(ms >= LIMITS.requestTimeoutMs - 100, `${ms} ms`);
    await stillServes();
  });

  it('oversized headers: 431 over HTTP/1.1; too many header fields: dropped over HTTP/1.1, the stream refused over HTTP/2', async () => {
    const oversized = await tlsSocket();
    oversized.write(requestHead(`X-Big: ${'a'.repeat(LIMITS.maxHeaderBytes + 100)}\r\n`) + 'Content-Length: 0\r\n\r\n');
    const { text } = await closed(oversized, 5_000);
    assert.match(text, /^HTTP\/1\.1 431 /, text.slice(0, 80));
    // HTTP/1.1: fields past --max-header-count are dropped by Node's parser (the request is still answered).
    const many = await tlsSocket();
    const fields = Array.from({ length: LIMITS.maxHeaderCount + 10 }, (_, i) => `X-H${i}: 1\r\n`).join('');
    many.write(requestHead(fields) + 'Connection: close\r\nContent-Length: 0\r\n\r\n');
    assert.match((await closed(many, 5_000)).text, /^HTTP\/1\.1 \d{3} /);
    const session = http2Connect(node.url, { ca: node.ca, servername: 'localhost' });
    session.on('error', () => undefined);
    try {
      const many: Record<string, string> = {};
      for (let i = 0; i < LIMITS.maxHeaderCount + 10; i++) many[`x-h${i}`] = '1';
      const stream = session.request({ ':method': 'GET', ':path': '/ping', ...many });
      stream.on('error', () => undefined);
      const status = await new Promise<number>((resolve) => {
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('close', () => resolve(0));
      });
      assert.ok(status === 0 || status === 431, `status ${status}`);
    } finally {
      session.destroy();
    }
    await stillServes();
  });

  it('connection flood: connections past --max-connections are closed at once; the node serves again when they go', async () => {
    const sockets: Socket[] = [];
    try {
      // Idle TCP connections that never start TLS: the cap holds them to LIMITS.maxConnections.
      for (let i = 0; i < LIMITS.maxConnections; i++) {
        const socket = netConnect({ host: '127.0.0.1', port: node.port });
        socket.on('error', () => undefined);
        sockets.push(socket);
      }
      await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
      await delay(200);
      const extra = netConnect({ host: '127.0.0.1', port: node.port });
      const { ms } = await closed(extra, 3_000);
      assert.ok(ms < 3_000);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    await delay(200);
    await stillServes();
  });

  it('HTTP/2 rapid reset: a client opening and cancelling streams in a burst has its session closed; others are served', async () => {
    const session = http2Connect(node.url, { ca: node.ca, servername: 'localhost' });
    session.on('error', () => undefined);
    await new Promise((resolve) => session.once('connect', resolve));
    const goaway = new Promise<boolean>((resolve) => {
      session.once('goaway', () => resolve(true));
      session.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 5_000);
    });
    for (let i = 0; i < 3_000 && !session.destroyed && !session.closed; i++) {
      try {
        const stream = session.request({ ':method': 'GET', ':path': '/ping' });
        stream.on('error', () => undefined);
        stream.close(h2.NGHTTP2_CANCEL);
      } catch {
        break;
      }
    }
    assert.equal(await goaway, true, 'the server ended the flooding session');
    session.destroy();
    await stillServes();
  });

  it('TLS renegotiation is refused (TLS 1.2); the node keeps serving', async () => {
    const socket = await tlsSocket({ maxVersion: 'TLSv1.2' });
    socket.on('error', () => undefined);
    const outcome = await new Promise<string>((resolve) => {
      socket.once('close', () => resolve('closed'));
      const started = socket.renegotiate({}, (error) => resolve(error ? `refused: ${error.message}` : 'renegotiated'));
      if (!started) resolve('refused locally');
    });
    assert.notEqual(outcome, 'renegotiated');
    socket.destroy();
    await stillServes();
  });
});
