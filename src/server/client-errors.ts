import type { Socket } from 'node:net';

const MALFORMED = JSON.stringify({ errorName: 'ValidationException', errorMessage: 'Malformed HTTP request' });

/**
 * Answers an HTTP/1.1 request Node cannot even parse (bad method token, conflicting framing headers…)
 * with a JSON ValidationException, like every other XKS error, then closes the connection.
 */
export function answerMalformedRequest(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    'HTTP/1.1 400 Bad Request\r\n' +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(MALFORMED)}\r\n` +
      'Connection: close\r\n\r\n' +
      MALFORMED,
  );
}
