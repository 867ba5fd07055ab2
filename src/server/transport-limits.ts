import type { Http2SecureServer, SecureServerOptions } from 'node:http2';
import { sendJson, type AnyRequest, type AnyResponse } from '../xks/http-io.js';

/**
 * Limits on what a client may do with a connection, on every listener (docs/security.md#transport-limits).
 * Each is a `keyhold serve` flag; the defaults stay far above what AWS KMS does (small JSON requests with a
 * handful of headers, a few connections per node kept alive) and cut the classic attacks: slow headers and
 * bodies, oversized or countless headers, idle connection floods, HTTP/2 stream floods and rapid reset.
 */
export interface TransportLimits {
  /** A connection must finish its TLS handshake within this (slow handshakes). */
  handshakeTimeoutMs: number;
  /** HTTP/1.1: the whole header block of a request must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** HTTP/1.1: the whole request, body included, must arrive within this (slow body). */
  requestTimeoutMs: number;
  /** Open connections per listener; more are closed as they are accepted (0: no limit). */
  maxConnections: number;
  /** Header block size, bytes (HTTP/1.1 header section; HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE). */
  maxHeaderBytes: number;
  /** Header fields per request. */
  maxHeaderCount: number;
  /** HTTP/2: streams open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** HTTP/2: a session that sent this many streams it had to refuse, or invalid frames, is closed (floods, rapid reset). */
  maxRejectedStreams: number;
  /**
   * HTTP/2: a session that cancels more streams than this within 10 s (resets them before the answer is complete)
   * is closed with GOAWAY ENHANCE_YOUR_CALM (rapid reset; rapid-reset-guard.ts).
   */
  maxCancelledStreams: number;
}

export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 20_000,
  maxHeaderBytes: 16_384,
  maxHeaderCount: 100,
  maxConcurrentStreams: 100,
  maxRejectedStreams: 100,
  // KMS never cancels a stream; a browser on the console cancels a few fetches when its user moves on. 200 in
  // 10 s is far above both, and cuts a rapid reset session five times sooner than nghttp2's own limit (a burst
  // of 1,000 resets, after which Node 20 stops reading the connection but leaves it open).
  maxCancelledStreams: 200,
};

/** The parts of the limits that are server options (HTTP/2 and TLS). */
export function transportServerOptions(limits: TransportLimits): SecureServerOptions {
  return {
    handshakeTimeout: limits.handshakeTimeoutMs,
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
    maxHeaderListPairs: limits.maxHeaderCount,
    maxSessionRejectedStreams: limits.maxRejectedStreams,
    maxSessionInvalidFrames: limits.maxRejectedStreams,
  };
}

/** The parts of the limits that are server properties (HTTP/1.1, read by Node's HTTP/1.1 connection handling). */
export function applyTransportLimits(server: Http2SecureServer, limits: TransportLimits): void {
  // Node's HTTP/1.1 fallback of an HTTP/2 server reads these from the server object.
  const http1 = server as Http2SecureServer & {
    headersTimeout: number;
    requestTimeout: number;
    maxHeaderSize: number;
    maxHeadersCount: number;
    connectionsCheckingInterval: number;
  };
  http1.headersTimeout = limits.headersTimeoutMs;
  http1.requestTimeout = limits.requestTimeoutMs;
  http1.maxHeaderSize = limits.maxHeaderBytes;
  // One more than the limit: Node's parser drops the fields past maxHeadersCount without a word, so it keeps one
  // extra for refuseHeaderOverflow to see that the request had too many.
  http1.maxHeadersCount = limits.maxHeaderCount + 1;
  // The two timeouts are enforced by a sweep every this often (Node's default: 30 s, far coarser than them).
  http1.connectionsCheckingInterval = Math.max(250, Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4);
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
}

/** Why a request's header block breaks the limits, if it does (refuseHeaderOverflow). */
export function headerOverflow(request: AnyRequest, limits: TransportLimits): 'count' | 'size' | undefined {
  const raw = request.rawHeaders;
  if (request.httpVersionMajor === 1) {
    // The size is refused by Node's parser already (431, client-errors.ts); the count is not (see above).
    return raw.length / 2 > limits.maxHeaderCount ? 'count' : undefined;
  }
  // HTTP/2: nghttp2 refuses a stream past maxHeaderListPairs, but does not enforce the SETTINGS_MAX_HEADER_LIST_SIZE
  // it advertises. Counted as RFC 9113 §6.5.2 does: name and value lengths, plus 32 per field.
  let size = 0;
  for (let i = 0; i < raw.length; i += 2) size += raw[i]!.length + (raw[i + 1]?.length ?? 0) + 32;
  return size > limits.maxHeaderBytes ? 'size' : undefined;
}

/**
 * Wraps a listener's request handler: a request whose header block breaks --max-header-count (HTTP/1.1) or
 * --max-header-bytes (HTTP/2) is answered 431 with a JSON error, as the parser's own refusals are, and never
 * reaches the handler (docs/security.md#transport-limits).
 */
export function refuseHeaderOverflow<Q extends AnyRequest, R extends AnyResponse>(
  limits: TransportLimits,
  handler: (request: Q, response: R) => void,
): (request: Q, response: R) => void {
  return (request, response) => {
    if (headerOverflow(request, limits) === undefined) return handler(request, response);
    // Drain what the client sends, without reading it.
    request.resume();
    sendJson(
      response,
      431,
      { errorName: 'ValidationException', errorMessage: 'Request headers too large or too many' },
      request.httpVersionMajor === 1 ? { connection: 'close' } : {},
    );
  };
}
