/**
 * The clients of the overload run (overload.ts): HTTP/1.1 keep-alive or HTTP/2, each sending the next
 * pre-signed Encrypt of its pool and reporting its status, errorName and latency as KMS's timer sees it.
 */
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { PreparedRequest } from './xks-requests.js';

export interface Outcome {
  status: number;
  errorName?: string;
  latencyMs: number;
}

export interface Client {
  send(): Promise<Outcome>;
  close(): void;
}

function errorNameOf(status: number, body: string): string | undefined {
  if (status === 200) return undefined;
  try {
    return (JSON.parse(body) as { errorName?: string }).errorName;
  } catch {
    return undefined;
  }
}

/**
 * HTTP/1.1 keep-alive, up to `connections` sockets, one request on each at a time (as KMS may send).
 * Latency runs from the moment a request gets its socket: time spent waiting for a free connection is
 * the client's own queue, not the proxy's.
 */
export class Http1Client implements Client {
  private readonly agent: Agent;
  private request = 0;
  constructor(
    ca: Buffer,
    connections: number,
    private readonly port: number,
    private readonly pool: PreparedRequest[],
  ) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: connections,
      maxFreeSockets: connections,
      ca,
      servername: 'localhost',
      ALPNProtocols: ['http/1.1'],
    });
  }

  send(): Promise<Outcome> {
    const prepared = this.pool[this.request++ % this.pool.length]!;
    return new Promise((resolve) => {
      let sentAt = performance.now();
      const request = httpsRequest(
        { agent: this.agent, host: '127.0.0.1', port: this.port, method: 'POST', path: prepared.path, headers: prepared.headers },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              errorName: errorNameOf(response.statusCode ?? 0, body),
              latencyMs: performance.now() - sentAt,
            }),
          );
        },
      );
      request.on('socket', () => (sentAt = performance.now()));
      request.on('error', () => resolve({ status: 0, errorName: 'transport error', latencyMs: performance.now() - sentAt }));
      request.end(prepared.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * HTTP/2, `count` connections, streams unlimited. Note: under load Node's client (nghttp2) sends the
 * HEADERS of new streams ahead of the DATA of older ones, so bodies arrive late and the node sheds them
 * for queue time: a property of that client, which this mode shows.
 */
export class Http2Client implements Client {
  private readonly sessions: ClientHttp2Session[];
  private next = 0;
  private request = 0;
  constructor(
    origin: string,
    ca: Buffer,
    count: number,
    private readonly pool: PreparedRequest[],
  ) {
    this.sessions = Array.from({ length: count }, () => connect(origin, { ca, servername: 'localhost', settings: { enablePush: false } }));
    for (const session of this.sessions) session.on('error', () => undefined);
  }

  send(): Promise<Outcome> {
    const prepared = this.pool[this.request++ % this.pool.length]!;
    const session = this.sessions[this.next++ % this.sessions.length]!;
    const sentAt = performance.now();
    return new Promise((resolve) => {
      const { host: _host, 'content-length': _length, ...headers } = prepared.headers;
      const stream = session.request({
        ...headers,
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: prepared.path,
        [constants.HTTP2_HEADER_AUTHORITY]: prepared.headers.host!,
      });
      let status = 0;
      let body = '';
      stream.setEncoding('utf8');
      stream.on('response', (h) => (status = Number(h[constants.HTTP2_HEADER_STATUS])));
      stream.on('data', (chunk: string) => (body += chunk));
      stream.on('end', () => resolve({ status, errorName: errorNameOf(status, body), latencyMs: performance.now() - sentAt }));
      stream.on('error', () => resolve({ status: 0, errorName: 'transport error', latencyMs: performance.now() - sentAt }));
      stream.end(prepared.body);
    });
  }

  close(): void {
    for (const session of this.sessions) session.close();
  }
}

/** Closed loop: `concurrency` requests in flight for `seconds`; returns 200s per second. */
