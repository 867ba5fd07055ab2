/**
 * HTTP/2 rapid reset (CVE-2023-44487; docs/security.md#transport-limits): a session that cancels more streams than
 * --max-cancelled-streams within 10 s is closed with GOAWAY ENHANCE_YOUR_CALM, on the XKS and the admin listener,
 * with the default limits; clients that cancel nothing, or a few streams, keep their session. Loopback, bounded.
 */
import assert from 'node:assert/strict';
import { constants as h2, createSecureServer, type Http2SecureServer, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { rapidResetFrames } from '../../bench/rapid-reset-frames.js';
import { createSelfSignedCertificate } from '../../src/server/self-signed-cert.js';
import { CANCELLED_STREAMS_WINDOW_MS, GOAWAY_LINGER_MS, guardRapidReset } from '../../src/server/rapid-reset-guard.js';
import { DEFAULT_TRANSPORT_LIMITS } from '../../src/server/transport-limits.js';
import { delay } from '../cli/processes.js';
import { capturedLogger, startTestNode, type TestNode } from '../helpers/node-harness.js';
import { parseExposition } from '../helpers/metrics.js';
import { cancellingSession } from '../helpers/rapid-reset-client.js';
import { okBody } from '../helpers/xks-answers.js';
import { healthBody, xks } from '../helpers/xks-client.js';

const LIMIT = DEFAULT_TRANSPORT_LIMITS.maxCancelledStreams;
const IDLE_TIMEOUT_MS = 5_000;

describe('HTTP/2 rapid reset, default limits', () => {
  let node: TestNode;
  before(async () => {
    // Split listeners, as `keyhold serve` runs by default; no transport option: DEFAULT_TRANSPORT_LIMITS.
    node = await startTestNode({ adminListener: { host: '127.0.0.1', port: 0 }, idleTimeoutMs: IDLE_TIMEOUT_MS });
  });
  after(() => node.close());

  const rapidResetLines = () => node.logs.filter((line) => line.event === 'transport.rapid_reset');
  const closedSessions = async (listener: string) => {
    const samples = parseExposition(await node.node.metricsRegistry.metrics());
    const sample = samples.find((s) => s.name === 'keyhold_http2_rapid_reset_sessions_closed_total' && s.labels.listener === listener);
    return sample?.value ?? 0;
  };

  for (const listener of ['xks', 'admin'] as const) {
    it(`${listener} listener: a session cancelling streams in bursts of 100 (the bench's attacker) gets GOAWAY ENHANCE_YOUR_CALM and is closed; others are served`, async () => {
      const port = listener === 'xks' ? node.port : Number(new URL(node.node.adminUrl).port);
      const linesBefore = rapidResetLines().length;
      // Without the guard nghttp2 sends GOAWAY INTERNAL_ERROR after ~1,000 resets and leaves the connection open.
      const outcome = await rapidResetFrames(
        { port, ca: node.ca },
        { streams: 5_000, timeoutMs: GOAWAY_LINGER_MS + 5_000, untilClose: true },
      );
      assert.equal(outcome.goawayCode, h2.NGHTTP2_ENHANCE_YOUR_CALM, JSON.stringify(outcome));
      assert.ok(outcome.closedByServer, `the server kept the connection open past its linger: ${JSON.stringify(outcome)}`);
      // Held, not closed at once: an attacker let go at once reconnects at once (rapid-reset-guard.ts). The
      // idle timeout, shorter here, closes the quiet connection first.
      const held = Math.min(GOAWAY_LINGER_MS, IDLE_TIMEOUT_MS) - 1_000;
      assert.ok(outcome.ms >= held, `the connection was held at least ${held} ms: ${JSON.stringify(outcome)}`);
      // One line for the session, with how many streams it had cancelled: the limit, plus what the 10 s refill
      // gave back while the attack ran, plus one.
      await delay(50);
      const lines = rapidResetLines().slice(linesBefore);
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assert.equal(lines[0]!.listener, listener);
      assert.equal(lines[0]!.remoteAddress, '127.0.0.1');
      const cancelled = Number(lines[0]!.cancelledStreams);
      assert.ok(cancelled > LIMIT && cancelled <= LIMIT * 1.25, `${cancelled} cancelled streams`);
      assert.equal(await closedSessions(listener), 1);
      // A signed XKS request on another connection.
      okBody(await xks(node, { operation: 'health', body: healthBody() }), 'health');
    });
  }

  it('a client making 2,000 requests one after another on one session keeps it', async () => {
    const linesBefore = rapidResetLines().length;
    const client = await cancellingSession(node.port, node.ca);
    try {
      for (let i = 0; i < 2_000; i++) assert.equal(await client.get('/ping'), 200, `request ${i}`);
      assert.equal(client.goawayCode(), undefined);
      assert.ok(!client.session.closed && !client.session.destroyed, 'the session is still open');
    } finally {
      client.session.destroy();
    }
    assert.equal(rapidResetLines().length, linesBefore);
  });

  it('a client cancelling a few streams (below the limit) keeps its session', async () => {
    const linesBefore = rapidResetLines().length;
    const client = await cancellingSession(node.port, node.ca);
    try {
      await client.cancelStreams(LIMIT - 50, 50);
      // What the server does about them is done by the time a request sent after them is answered.
      assert.equal(await client.get('/ping'), 200);
      await delay(100);
      assert.equal(client.goawayCode(), undefined, 'no GOAWAY');
      assert.equal(await client.get('/ping'), 200);
    } finally {
      client.session.destroy();
    }
    assert.equal(rapidResetLines().length, linesBefore);
  });
});

describe('HTTP/2 rapid reset guard: the 10 s budget', () => {
  const limit = 20;
  let server: Http2SecureServer;
  let port: number;
  let ca: string;
  let nowMs = 0;
  let closedStreams = 0;
  let serverSession: ServerHttp2Session | undefined;
  const log = capturedLogger();
  before(async () => {
    const pem = await createSelfSignedCertificate({ hostnames: ['localhost'] });
    ca = pem.certPem;
    server = createSecureServer({ key: pem.keyPem, cert: pem.certPem });
    server.on('session', (session: ServerHttp2Session) => (serverSession = session));
    server.on('stream', (stream: ServerHttp2Stream) => {
      stream.once('close', () => (closedStreams += 1));
      // Answered on the next turn of the event loop, as a real handler does: a cancel that arrives with the
      // request finds the stream unanswered.
      setImmediate(() => {
        if (stream.closed) return;
        stream.respond({ ':status': 200 });
        stream.end('pong');
      });
    });
    guardRapidReset(server, 'xks', { maxCancelledStreams: limit, logger: log.logger, now: () => nowMs, defer: setImmediate });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Waits until the server has seen `count` streams close (bounded). */
  async function serverClosed(count: number): Promise<void> {
    for (let waited = 0; closedStreams < count; waited += 10) {
      if (waited > 5_000) throw new Error(`the server saw ${closedStreams} streams close, not ${count}`);
      await delay(10);
    }
    await delay(20);
  }

  it('a session may cancel --max-cancelled-streams at once and that many again per 10 s; one more and it is closed', async () => {
    const client = await cancellingSession(port, ca);
    try {
      const base = closedStreams;
      await client.cancelStreams(limit, 5);
      await serverClosed(base + limit);
      assert.equal(serverSession!.destroyed, false, 'the session is kept at the limit');
      // Half the window later, half the budget is back.
      nowMs += CANCELLED_STREAMS_WINDOW_MS / 2;
      await client.cancelStreams(limit / 2, 5);
      await serverClosed(base + limit + limit / 2);
      assert.equal(serverSession!.destroyed, false, 'the session is kept: the budget refilled');
      assert.equal(await client.get('/ping'), 200);
      await client.cancelStreams(1, 1);
      await serverClosed(base + limit + limit / 2 + 2);
      assert.equal(serverSession!.destroyed, true, 'the session is closed past the budget');
    } finally {
      client.session.destroy();
    }
    const lines = log.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.filter((line) => line.event === 'transport.rapid_reset').length, 1, log.lines.join('\n'));
  });
});
