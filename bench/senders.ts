/**
 * How the load generator (load.ts) sends a pooled, pre-signed request: HTTP/1.1 over a keep-alive
 * agent or a new connection per request (cold), or HTTP/2 streams spread over a few sessions. Each
 * reports the status and body once, and the TLS version, cipher and ALPN protocol it negotiated.
 */
import { Agent, request as httpsRequest } from 'node:https';
import { connect as http2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { LoadJob } from './load.js';
import type { PreparedRequest } from './xks-requests.js';

/** Called once per request: its status and body, or the error that ended it. */
export type Done = (status: number, body: string | undefined, error?: Error) => void;

export interface TlsInfo {
  protocol: string | null;
  cipher: string;
  alpn: string | false | null;
}

function tlsInfo(socket: TLSSocket): TlsInfo {
  return { protocol: socket.getProtocol(), cipher: socket.getCipher().name, alpn: socket.alpnProtocol ?? null };
}

/** Sends pooled requests over one transport, cycling through the pool. */
export interface Sender {
  tls?: TlsInfo;
  /** Sends the next pooled request; returns it so the caller knows what to expect. */
  send(done: Done): PreparedRequest;
  close(): void;
}

/** Calls `done` once: a request can report an error after its response ended. */
function once(done: Done): Done {
  let finished = false;
  return (status, body, error) => {
    if (finished) return;
    finished = true;
    done(status, body, error);
  };
}

/** HTTP/1.1 over node:https: keep-alive sockets, or (cold) a new connection and full handshake per request. */
class Http1Sender implements Sender {
  private readonly agent: Agent;
  private next = 0;
  tls?: TlsInfo;

  constructor(private readonly job: LoadJob) {
    const cold = job.connection === 'cold';
    this.agent = new Agent({
      keepAlive: !cold,
      // Cold: as many sockets as requests in flight, each closed after its response.
      maxSockets: cold ? Infinity : job.connections,
      maxFreeSockets: cold ? 0 : job.connections,
      // Cold: no TLS session cache, so every connection pays the full handshake.
      maxCachedSessions: cold ? 0 : 100,
      ca: job.ca,
      ALPNProtocols: ['http/1.1'],
    });
  }

  send(done: Done): PreparedRequest {
    const prepared = this.job.requests[this.next++ % this.job.requests.length]!;
    const finish = once(done);
    const req = httpsRequest(
      { agent: this.agent, host: '127.0.0.1', port: this.job.port, method: 'POST', path: prepared.path, headers: prepared.headers },
      (res) => {
        this.tls ??= tlsInfo(res.socket as TLSSocket);
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => finish(res.statusCode ?? 0, body));
        res.on('error', (error) => finish(0, undefined, error));
      },
    );
    req.on('error', (error) => finish(0, undefined, error));
    req.end(prepared.body);
    return prepared;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** HTTP/2: `connections` sessions opened up front; each request is a stream on the next session in turn. */
class Http2Sender implements Sender {
  private readonly sessions: ClientHttp2Session[] = [];
  private next = 0;
  tls?: TlsInfo;

  constructor(private readonly job: LoadJob) {
    for (let i = 0; i < job.connections; i++) {
      const session = http2Connect(`https://127.0.0.1:${job.port}`, { ca: job.ca, ALPNProtocols: ['h2'] });
      // A session error fails its streams (counted as transport errors); it must not crash the process.
      session.on('error', () => {});
      this.sessions.push(session);
    }
  }

  send(done: Done): PreparedRequest {
    const index = this.next++;
    const prepared = this.job.requests[index % this.job.requests.length]!;
    const session = this.sessions[index % this.sessions.length]!;
    const finish = once(done);
    // HTTP/2 carries the signed `host` as `:authority`; a `host` header beside it would be redundant.
    const { host, ...headers } = prepared.headers;
    let stream;
    try {
      stream = session.request({
        ...headers,
        [h2.HTTP2_HEADER_METHOD]: 'POST',
        [h2.HTTP2_HEADER_PATH]: prepared.path,
        [h2.HTTP2_HEADER_AUTHORITY]: host,
      });
    } catch (error) {
      queueMicrotask(() => finish(0, undefined, error as Error));
      return prepared;
    }
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (responseHeaders) => {
      status = Number(responseHeaders[h2.HTTP2_HEADER_STATUS] ?? 0);
      this.tls ??= tlsInfo(session.socket as TLSSocket);
    });
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => finish(status, body));
    stream.on('error', (error: Error) => finish(0, undefined, error));
    stream.end(prepared.body);
    return prepared;
  }

  close(): void {
    for (const session of this.sessions) session.destroy();
  }
}

export function createSender(job: LoadJob): Sender {
  if (job.protocol === 'h2') {
    if (job.connection === 'cold') throw new Error('cold connections are measured over HTTP/1.1 only');
    return new Http2Sender(job);
  }
  return new Http1Sender(job);
}
