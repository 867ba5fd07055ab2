/**
 * The attackers of bench/attacks.ts, each against one node on 127.0.0.1 (docs/security.md#attack-benchmark).
 *
 * Two shapes:
 * - held connections (slow headers, slow body, idle TLS, idle TCP): opened (at most `rampConcurrency` opening at
 *   once) and held until the server ends them or the attack stops; the report says how many the server ended,
 *   after how long, and what it sent first (e.g. `HTTP/1.1 408`);
 * - loops (oversized headers, too many header fields, HTTP/2 rapid reset, TLS renegotiation): `workers` loops,
 *   each repeating its misdeed on a fresh connection until stopped; the report counts the outcomes.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { errorCodeName, rapidResetFrames } from './rapid-reset-frames.js';
import { LatencyRecorder, summarize } from './stats.js';

export interface AttackTarget {
  port: number;
  ca: string;
}

export interface AttackReport {
  /** Connections opened (held attacks) or attempts made (loops). */
  opened: number;
  failedToOpen: number;
  /** Held attacks: ended by the server while the attack ran, with their lifetimes (ms). */
  endedByServer?: number;
  endedAfterMs?: { p50: number; max: number; min: number };
  /** Held attacks: still open when the attack stopped. */
  stillOpen?: number;
  /** What the server did: the first line it sent (held attacks, and HTTP answers in loops), or a named outcome. */
  outcomes: Record<string, number>;
}

export interface Attack {
  name: string;
  /** What it does, for the printed table. */
  what: string;
  /** Starts the attack; resolves once its connections are open (held) or its loops run. */
  start(target: AttackTarget): Promise<void>;
  /** Stops it, closing whatever is left (loops finish their attempt in progress), and reports. */
  stop(): Promise<AttackReport>;
}

const count = (outcomes: Record<string, number>, key: string) => (outcomes[key] = (outcomes[key] ?? 0) + 1);
/** The first line a server sent, shortened to what names the outcome (`HTTP/1.1 408`), or `nothing`. */
const firstLine = (text: string) => (text === '' ? 'nothing' : (/^HTTP\/1\.1 \d{3}/.exec(text)?.[0] ?? 'other bytes'));

function tlsOptions(target: AttackTarget, alpn: string[]) {
  return { host: '127.0.0.1', port: target.port, ca: target.ca, servername: 'localhost', ALPNProtocols: alpn };
}

/**
 * Held connections: `open` makes one and resolves when it is ready (connected, or handshake done); `feed`, if
 * given, is called every `feedMs` on each open connection (slowloris' next header line, slow body's next byte).
 */
function heldConnections(options: {
  name: string;
  what: string;
  connections: number;
  rampConcurrency: number;
  /** Opening stops after this long, whatever is still missing (reported as failedToOpen). */
  rampLimitMs: number;
  open: (target: AttackTarget) => Socket;
  /** The event that says the connection is ready ('connect' or 'secureConnect'). */
  readyEvent: 'connect' | 'secureConnect';
  begin?: (socket: Socket, target: AttackTarget) => void;
  feed?: (socket: Socket) => void;
  feedMs?: number;
}): Attack {
  const sockets = new Set<Socket>();
  const outcomes: Record<string, number> = {};
  const lifetimes = new LatencyRecorder(options.connections);
  let opened = 0;
  let failed = 0;
  let stopping = false;
  let feeder: NodeJS.Timeout | undefined;
  const openOne = (target: AttackTarget) =>
    new Promise<void>((resolve) => {
      const socket = options.open(target);
      let ready = false;
      let text = '';
      let openedAt = 0;
      socket.on('data', (chunk: Buffer) => {
        if (text.length < 64) text += chunk.toString('latin1');
      });
      socket.on('error', () => undefined);
      socket.once(options.readyEvent, () => {
        ready = true;
        opened += 1;
        openedAt = performance.now();
        sockets.add(socket);
        options.begin?.(socket, target);
        resolve();
      });
      socket.once('close', () => {
        sockets.delete(socket);
        if (!ready) {
          failed += 1;
          resolve();
          return;
        }
        if (stopping) return;
        lifetimes.record(performance.now() - openedAt);
        // TLS records are binary: only an HTTP status line is named.
        count(outcomes, `server closed; sent ${firstLine(text)}`);
      });
    });
  return {
    name: options.name,
    what: options.what,
    async start(target) {
      const deadline = performance.now() + options.rampLimitMs;
      let next = 0;
      await Promise.all(
        Array.from({ length: options.rampConcurrency }, async () => {
          while (next < options.connections && performance.now() < deadline) {
            next += 1;
            await openOne(target);
          }
        }),
      );
      failed += options.connections - next;
      if (options.feed) feeder = setInterval(() => sockets.forEach((socket) => options.feed!(socket)), options.feedMs ?? 1000);
    },
    stop() {
      stopping = true;
      clearInterval(feeder);
      const stillOpen = sockets.size;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      const life = summarize(lifetimes);
      return Promise.resolve({
        opened,
        failedToOpen: failed,
        endedByServer: life.count,
        endedAfterMs: life.count > 0 ? { p50: life.p50_ms, max: life.max_ms, min: lifetimes.sorted()[0] ?? 0 } : undefined,
        stillOpen,
        outcomes,
      });
    },
  };
}

const requestLine = (target: AttackTarget, method = 'POST') => `${method} /ping HTTP/1.1\r\nHost: localhost:${target.port}\r\n`;

export function slowHeaders(connections: number): Attack {
  return heldConnections({
    name: 'slow headers',
    what: `${connections} HTTP/1.1 connections sending one more header line a second, never ending the header block (slowloris)`,
    connections,
    rampConcurrency: 50,
    rampLimitMs: 10_000,
    open: (target) => tlsConnect(tlsOptions(target, ['http/1.1'])),
    readyEvent: 'secureConnect',
    begin: (socket, target) => socket.write(requestLine(target)),
    feed: (socket) => socket.write(`X-Slow-${Math.floor(Math.random() * 1e6)}: 1\r\n`),
    feedMs: 1000,
  });
}

export function slowBody(connections: number): Attack {
  return heldConnections({
    name: 'slow body',
    what: `${connections} HTTP/1.1 connections announcing a 10,000-byte body and sending one byte a second`,
    connections,
    rampConcurrency: 50,
    rampLimitMs: 10_000,
    open: (target) => tlsConnect(tlsOptions(target, ['http/1.1'])),
    readyEvent: 'secureConnect',
    begin: (socket, target) => socket.write(`${requestLine(target)}Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{`),
    feed: (socket) => socket.write(' '),
    feedMs: 1000,
  });
}

export function idleTls(connections: number): Attack {
  return heldConnections({
    name: 'idle TLS',
    what: `${connections.toLocaleString('en')} TLS connections (ALPN h2), handshake done, then silent`,
    connections,
    rampConcurrency: 100,
    rampLimitMs: 30_000,
    open: (target) => tlsConnect(tlsOptions(target, ['h2'])),
    readyEvent: 'secureConnect',
  });
}

export function idleTcp(connections: number): Attack {
  return heldConnections({
    name: 'idle TCP',
    what: `${connections.toLocaleString('en')} TCP connections that never start TLS`,
    connections,
    rampConcurrency: 200,
    rampLimitMs: 20_000,
    open: (target) => netConnect({ host: '127.0.0.1', port: target.port }),
    readyEvent: 'connect',
  });
}

/** `workers` loops, each calling `once` until stopped; once() resolves with the outcome's name. */
function loops(options: { name: string; what: string; workers: number; once: (target: AttackTarget) => Promise<string> }): Attack {
  const outcomes: Record<string, number> = {};
  let attempts = 0;
  let running = false;
  let done: Promise<unknown> = Promise.resolve();
  return {
    name: options.name,
    what: options.what,
    start(target) {
      running = true;
      done = Promise.all(
        Array.from({ length: options.workers }, async () => {
          while (running) {
            attempts += 1;
            count(outcomes, await options.once(target).catch((error: Error) => `client error: ${error.message}`));
          }
        }),
      );
      return Promise.resolve();
    },
    async stop() {
      running = false;
      await done;
      return { opened: attempts, failedToOpen: 0, outcomes };
    },
  };
}

/** One HTTP/1.1 request `head` (the whole request, headers and all) on a fresh TLS connection; the answer's status line. */
function oneRawRequest(target: AttackTarget, head: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect(tlsOptions(target, ['http/1.1']), () => socket.write(head));
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(`answered ${firstLine(text)}`);
    });
  });
}

export function oversizedHeaders(workers: number, bytes: number): Attack {
  return loops({
    name: 'oversized headers',
    what: `${workers} loops, each a new TLS connection and one HTTP/1.1 request with a ${bytes.toLocaleString('en')}-byte header`,
    workers,
    once: (target) => oneRawRequest(target, `${requestLine(target, 'GET')}X-Big: ${'a'.repeat(bytes)}\r\nConnection: close\r\n\r\n`),
  });
}

export function manyHeaderFields(workers: number, fields: number): Attack {
  const block = Array.from({ length: fields }, (_, i) => `X-H${i}: 1\r\n`).join('');
  return loops({
    name: 'too many header fields',
    what: `${workers} loops, each a new TLS connection and one HTTP/1.1 request with ${fields} header fields`,
    workers,
    once: (target) => oneRawRequest(target, `${requestLine(target, 'GET')}${block}Connection: close\r\n\r\n`),
  });
}

/**
 * One HTTP/2 session opening and cancelling up to `streamsPerSession` streams in bursts of 100 (raw frames:
 * rapid-reset-frames.ts), held until the server closes it or 10 s pass; names the server's GOAWAY code and how
 * many streams had been sent when it came.
 */
async function rapidResetSession(target: AttackTarget, streamsPerSession: number): Promise<string> {
  const outcome = await rapidResetFrames(target, { streams: streamsPerSession, timeoutMs: 10_000, untilClose: true });
  // Bucketed by hundreds of streams sent.
  const atMost = (sent: number) => `at most ${Math.ceil(sent / 100) * 100} streams`;
  const goaway =
    outcome.goawayCode === undefined
      ? 'no GOAWAY'
      : `GOAWAY ${errorCodeName(outcome.goawayCode)} after ${atMost(outcome.sentAtGoaway ?? outcome.sentAtEnd)}`;
  return outcome.closedByServer
    ? `${goaway}, connection closed by the server`
    : `${goaway}, connection still open after 10 s (${atMost(outcome.sentAtEnd)} sent); closed by the attacker`;
}

export function rapidReset(workers: number, streamsPerSession: number): Attack {
  return loops({
    name: 'HTTP/2 rapid reset',
    what: `${workers} loops, each an HTTP/2 session opening and cancelling up to ${streamsPerSession.toLocaleString('en')} streams in bursts of 100`,
    workers,
    once: (target) => rapidResetSession(target, streamsPerSession),
  });
}

/** One TLS 1.2 connection asking to renegotiate. */
function renegotiateOnce(target: AttackTarget): Promise<string> {
  return new Promise((resolve) => {
    const socket: TLSSocket = tlsConnect({ ...tlsOptions(target, ['http/1.1']), maxVersion: 'TLSv1.2' }, () => {
      const started = socket.renegotiate({}, (error) => {
        resolve(error ? 'renegotiation refused (error)' : 'RENEGOTIATED');
        socket.destroy();
      });
      if (!started) {
        resolve('renegotiation refused locally');
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('connection closed by the server');
    });
  });
}

export function renegotiation(workers: number): Attack {
  return loops({
    name: 'TLS renegotiation',
    what: `${workers} loops, each a new TLS 1.2 connection asking to renegotiate`,
    workers,
    once: renegotiateOnce,
  });
}
