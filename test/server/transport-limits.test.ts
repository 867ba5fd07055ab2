/**
 * Transport attacks against a real node with small limits (docs/security.md#transport-limits): slow headers, slow
 * body, oversized headers and header counts, a connection flood past the cap, HTTP/2 rapid reset, TLS
 * renegotiation. After each, the node still answers signed XKS traffic. Bounded: loopback, a few seconds each.
 */
import assert from 'node:assert/strict';
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { delay } from '../cli/processes.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { okBody } from '../helpers/xks-answers.js';
import { healthBody, xks } from '../helpers/xks-client.js';

const LIMITS = {
  handshakeTimeoutMs: 3_000,
  headersTimeoutMs: 1_000,
  requestTimeoutMs: 2_000,
  maxConnections: 60,
  maxHeaderBytes: 4_096,
  maxHeaderCount: 30,
  maxConcurrentStreams: 20,
  maxRejectedStreams: 50,
  maxCancelledStreams: 200,
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

/** The first flight of a real TLS client (its ClientHello), captured from a listener that never answers. */
async function clientHello(): Promise<Buffer> {
  const sink = createNetServer();
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const port = (sink.address() as { port: number }).port;
  try {
    const hello = new Promise<Buffer>((resolve) => sink.once('connection', (socket) => socket.once('data', resolve)));
    const client = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
    client.on('error', () => undefined);
    const bytes = await hello;
    client.destroy();
    return bytes;
  } finally {
    sink.close();
  }
}

describe('transport limits', () => {
  /*= docs/requirements.md#transport
   *# 9. [MUST] The API is served over HTTPS only; no plain-HTTP listener serves it in production. */
  it('slow handshakes: a silent TCP connection and one that stops mid-handshake are cut after --handshake-timeout-ms', async () => {
    const silent = netConnect({ host: '127.0.0.1', port: node.port });
    await new Promise((resolve) => silent.once('connect', resolve));
    const hello = await clientHello();
    const stalled = netConnect({ host: '127.0.0.1', port: node.port });
    await new Promise((resolve) => stalled.once('connect', resolve));
    // A real ClientHello, then nothing: the node answers with its ServerHello and waits for the client's Finished.
    stalled.write(hello);
    const bound = LIMITS.handshakeTimeoutMs + 2_000;
    const [quiet, midway] = await Promise.all([closed(silent, bound), closed(stalled, bound)]);
    for (const { ms } of [quiet, midway]) assert.ok(ms >= LIMITS.handshakeTimeoutMs - 200, `${ms} ms`);
    // The node did start the handshake with the second client (a TLS handshake record), and sent no HTTP to either.
    assert.equal(midway.text.charCodeAt(0), 0x16);
    assert.doesNotMatch(quiet.text + midway.text, /HTTP\/1\.1/);
    await stillServes();
  });

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

  it('oversized headers and too many header fields: 431 with a JSON error, over HTTP/1.1 and HTTP/2', async () => {
    const oversized = await tlsSocket();
    oversized.write(requestHead(`X-Big: ${'a'.repeat(LIMITS.maxHeaderBytes + 100)}\r\n`) + 'Content-Length: 0\r\n\r\n');
    const { text } = await closed(oversized, 5_000);
    assert.match(text, /^HTTP\/1\.1 431 /, text.slice(0, 80));
    // HTTP/1.1: one field past --max-header-count is refused (Node's parser alone would drop it silently) …
    const fields = (count: number) => Array.from({ length: count }, (_, i) => `X-H${i}: 1\r\n`).join('');
    const getPing = (extra: string) => `GET /ping HTTP/1.1\r\nHost: localhost:${node.port}\r\n${extra}Connection: close\r\n\r\n`;
    const many = await tlsSocket();
    // Host and Connection count too.
    many.write(getPing(fields(LIMITS.maxHeaderCount - 1)));
    const refused = (await closed(many, 5_000)).text;
    assert.match(refused, /^HTTP\/1\.1 431 /, refused.slice(0, 80));
    assert.match(refused, /content-type: application\/json/i);
    assert.match(refused, /"errorName":"ValidationException"/);
    // … and exactly --max-header-count fields are served.
    const atLimit = await tlsSocket();
    atLimit.write(getPing(fields(LIMITS.maxHeaderCount - 2)));
    const served = (await closed(atLimit, 5_000)).text;
    assert.match(served, /^HTTP\/1\.1 200 /, served.slice(0, 80));

    // One session per request: the stream refused by nghttp2 may take its session with it.
    const h2Status = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve) => {
        const session = http2Connect(node.url, { ca: node.ca, servername: 'localhost' });
        session.on('error', () => undefined);
        const stream = session.request({ ':method': 'GET', ':path': '/ping', ...headers });
        let status = 0;
        let body = '';
        stream.on('error', () => undefined);
        stream.on('response', (response) => (status = Number(response[':status'])));
        stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
        stream.on('close', () => {
          session.destroy();
          resolve({ status, body });
        });
        stream.end();
      });
    const manyFields: Record<string, string> = {};
    for (let i = 0; i < LIMITS.maxHeaderCount + 10; i++) manyFields[`x-h${i}`] = '1';
    // nghttp2 refuses the stream (reset, status 0) past --max-header-count.
    const { status } = await h2Status(manyFields);
    assert.ok(status === 0 || status === 431, `status ${status}`);
    // A header block past the advertised SETTINGS_MAX_HEADER_LIST_SIZE (--max-header-bytes) is refused …
    const big = await h2Status({ 'x-big': 'a'.repeat(LIMITS.maxHeaderBytes) });
    assert.equal(big.status, 431);
    assert.match(big.body, /"errorName":"ValidationException"/);
    // … and one just under it is served.
    const fits = await h2Status({ 'x-big': 'a'.repeat(LIMITS.maxHeaderBytes - 400) });
    assert.equal(fits.status, 200);
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
      // Well before --handshake-timeout-ms would end it anyway.
      const { ms } = await closed(extra, 1_500);
      assert.ok(ms < 1_500);
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
