import type { Socket } from 'node:net';

const MALFORMED = JSON.stringify({ errorName: 'ValidationException', errorMessage: 'Malformed HTTP request' });
const TOO_LARGE = JSON.stringify({ errorName: 'ValidationException', errorMessage: 'Request headers too large or too many' });
const TOO_SLOW = JSON.stringify({ errorName: 'ValidationException', errorMessage: 'Request not received in time' });

/** The answer to an HTTP/1.1 client error, by Node's error code (docs/security.md#transport-limits). */
function answerFor(code: string | undefined): { status: string; body: string } {
  // --max-header-bytes / --max-header-count
  if (code === 'HPE_HEADER_OVERFLOW') return { status: '431 Request Header Fields Too Large', body: TOO_LARGE };
  // --headers-timeout-ms / --request-timeout-ms
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: '408 Request Timeout', body: TOO_SLOW };
  return { status: '400 Bad Request', body: MALFORMED };
}

/** An error of Node's HTTP/1.1 request handling (its parser, or its header and request timeouts): one with an answer. */
function isHttpRequestError(code: string | undefined): boolean {
  return code !== undefined && (code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT');
}

/**
 * Answers an HTTP/1.1 request Node cannot even parse (bad method token, conflicting framing headers…), or one cut
 * by a transport limit (headers too large or too many, too slow), with a JSON ValidationException like every other
 * XKS error, then closes the connection.
 *
 * The HTTP/2 server also hands its TLS errors to this handler ('clientError'): a handshake that failed or did not
 * finish within --handshake-timeout-ms (ERR_TLS_HANDSHAKE_TIMEOUT), a reset. Those connections have no TLS session
 * to write an answer on, and an answer written there would wait for a handshake that never comes, holding the
 * connection open forever: they are destroyed at once.
 */
export function answerMalformedRequest(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!isHttpRequestError(error.code) || !socket.writable) {
    socket.destroy();
    return;
  }
  const { status, body } = answerFor(error.code);
  socket.end(
    `HTTP/1.1 ${status}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
