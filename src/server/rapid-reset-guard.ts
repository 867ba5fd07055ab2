import { constants as h2, type Http2SecureServer, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { TokenBucket, type MonotonicMs } from '../throttle/token-bucket.js';

/** --max-cancelled-streams counts over this window: that many at once, refilled at that many per window. */
export const CANCELLED_STREAMS_WINDOW_MS = 10_000;

/**
 * How long a session told GOAWAY ENHANCE_YOUR_CALM is held before it is closed (the idle timeout closes it
 * sooner if it is shorter and the client sends nothing more). Closing it at once frees the
 * attacker to reconnect at once: measured with the attack benchmark, sessions closed within a turn of the
 * event loop came back 155 times in 8 s and took normal traffic to 0 requests/s, where sessions left open
 * (nghttp2's own limit) held each attacker for 10 s and normal traffic kept its 1,800/s. After the GOAWAY
 * nghttp2 refuses every new stream of the session itself, without a handler, so holding it costs a socket.
 */
export const GOAWAY_LINGER_MS = 10_000;

/** Which listener a guarded server is, for the log line and the metric. */
export type ListenerName = 'xks' | 'admin';

export interface RapidResetGuardOptions {
  /** Cancelled streams a session may have within CANCELLED_STREAMS_WINDOW_MS before it is closed (--max-cancelled-streams). */
  maxCancelledStreams: number;
  logger: Logger;
  /** Counts a session closed by the guard (the metric). */
  onSessionClosed?: (listener: ListenerName) => void;
  /** Monotonic milliseconds (default performance.now). */
  now?: MonotonicMs;
  /**
   * Runs the close later, outside nghttp2's callbacks (default: after GOAWAY_LINGER_MS). Destroying a session from
   * a stream's 'close' handler, or from a process.nextTick queued there (Node drains that queue before returning
   * to nghttp2), crashed Node 20 natively under the rapid reset bench.
   */
  defer?: (task: () => void) => void;
}

/**
 * A stream ended without the server's answer being complete: reset by either side with a code other than
 * NO_ERROR (CANCEL, as rapid reset sends, or any other), or aborted (closed, even with NO_ERROR, before the
 * server ended its response). KMS sends a request and reads the whole answer: none of its streams is cancelled.
 */
export function wasCancelled(stream: Pick<ServerHttp2Stream, 'rstCode' | 'aborted'>): boolean {
  return stream.aborted || stream.rstCode !== h2.NGHTTP2_NO_ERROR;
}

/**
 * Closes HTTP/2 sessions that cancel streams faster than `maxCancelledStreams` per 10 s (rapid reset,
 * CVE-2023-44487; docs/security.md#transport-limits) with GOAWAY ENHANCE_YOUR_CALM. Each cancelled stream takes
 * a token from the session's bucket (created at its first cancelled stream: sessions that never cancel cost
 * nothing); the session is closed when none is left. O(1) per stream, no timer.
 */
export function guardRapidReset(server: Http2SecureServer, listener: ListenerName, options: RapidResetGuardOptions): void {
  const { maxCancelledStreams, logger } = options;
  const now = options.now ?? (() => performance.now());
  const defer = options.defer ?? ((task: () => void) => setTimeout(task, GOAWAY_LINGER_MS).unref());
  const rate = { burst: maxCancelledStreams, rps: (maxCancelledStreams * 1000) / CANCELLED_STREAMS_WINDOW_MS };

  server.on('session', (session: ServerHttp2Session) => {
    // Read now: once the peer is gone, the session's socket no longer knows it.
    const remoteAddress = session.socket.remoteAddress;
    let budget: TokenBucket | undefined;
    let cancelled = 0;
    let closing = false;
    const closeSession = () => {
      if (!session.destroyed) session.destroy(undefined, h2.NGHTTP2_ENHANCE_YOUR_CALM);
    };
    const onStreamClosed = (stream: ServerHttp2Stream) => {
      if (closing || session.destroyed || !wasCancelled(stream)) return;
      cancelled += 1;
      budget ??= new TokenBucket(rate, now);
      if (budget.take()) return;
      // Once per session; later streams are no longer counted.
      closing = true;
      // GOAWAY at once (submitting a frame is allowed inside nghttp2's callbacks; destroying the session is not),
      // so that the client is told why before nghttp2's own GOAWAY INTERNAL_ERROR (1,000 resets) can go first.
      // nghttp2 still parses the rest of what it has read: a fast client gets that far (docs/security.md); once
      // the GOAWAY is sent it refuses the session's new streams itself. The close waits (GOAWAY_LINGER_MS).
      session.goaway(h2.NGHTTP2_ENHANCE_YOUR_CALM);
      logger.warn(
        { event: 'transport.rapid_reset', listener, remoteAddress, cancelledStreams: cancelled },
        `HTTP/2 session told GOAWAY ENHANCE_YOUR_CALM, closed in ${GOAWAY_LINGER_MS / 1000} s: ${cancelled} streams cancelled, more than --max-cancelled-streams ${maxCancelledStreams} per ${CANCELLED_STREAMS_WINDOW_MS / 1000} s`,
      );
      options.onSessionClosed?.(listener);
      defer(closeSession);
    };
    session.on('stream', (stream: ServerHttp2Stream) => stream.once('close', () => onStreamClosed(stream)));
  });
}
