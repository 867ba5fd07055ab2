/**
 * Node's HTTP/2 client on one session, making requests and cancelling a few streams (RST_STREAM CANCEL right after
 * opening them, in bursts scheduled with setImmediate): the clients that HTTP/2 rapid reset's guard must leave
 * alone. The attacker itself is bench/rapid-reset-frames.ts. Loopback only, bounded.
 */
import { connect as http2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';

export interface CancellingSession {
  session: ClientHttp2Session;
  /** The code of the first GOAWAY the server sent, if any. */
  goawayCode(): number | undefined;
  /** Opens and cancels `streams` streams in bursts of `burst`; resolves when they are all sent or the session ended. */
  cancelStreams(streams: number, burst: number): Promise<void>;
  /** One GET on this session; resolves with its status. */
  get(path: string): Promise<number>;
}

/** Connects to 127.0.0.1:`port` (certificate for localhost) and resolves once the session is up. */
export async function cancellingSession(port: number, ca: string | Buffer): Promise<CancellingSession> {
  const session = http2Connect(`https://localhost:${port}`, {
    ca,
    servername: 'localhost',
    createConnection: () => tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'] }),
  });
  session.on('error', () => undefined);
  let goaway: number | undefined;
  session.once('goaway', (code: number) => (goaway = code));
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const usable = () => goaway === undefined && !session.closed && !session.destroyed;
  return {
    session,
    goawayCode: () => goaway,
    cancelStreams(streams, burst) {
      let sent = 0;
      return new Promise((resolve) => {
        const next = () => {
          for (let i = 0; i < burst && sent < streams; i++) {
            if (!usable()) return resolve();
            const stream = session.request({ ':method': 'GET', ':path': '/ping' });
            stream.on('error', () => undefined);
            stream.close(h2.NGHTTP2_CANCEL);
            sent += 1;
          }
          if (sent < streams) setImmediate(next);
          else resolve();
        };
        next();
      });
    },
    get(path) {
      return new Promise((resolve, reject) => {
        const stream = session.request({ ':method': 'GET', ':path': path });
        let status = 0;
        stream.on('error', reject);
        stream.on('response', (headers) => (status = Number(headers[':status'])));
        stream.resume();
        stream.on('end', () => resolve(status));
      });
    },
  };
}
