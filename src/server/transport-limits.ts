import type { Http2SecureServer, SecureServerOptions } from 'node:http2';

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
  http1.maxHeadersCount = limits.maxHeaderCount;
  // The two timeouts are enforced by a sweep every this often (Node's default: 30 s, far coarser than them).
  http1.connectionsCheckingInterval = Math.max(250, Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4);
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
}
