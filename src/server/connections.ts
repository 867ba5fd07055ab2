import type { Http2SecureServer, ServerHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';

/** The open connections of a node's HTTPS server. */
export interface TrackedConnections {
  /** Ends every connection gracefully (GOAWAY, or end for HTTP/1.1) and cuts what is left after `graceMs`. */
  closeAll(graceMs: number): void;
}

/**
 * Keeps track of open connections. Keep-alive connections (HTTP/2 sessions and HTTP/1.1 sockets alike)
 * stay open for reuse, but are closed after `idleTimeoutMs` without traffic. close() ends them: HTTP/2
 * sessions get a GOAWAY (in-flight streams finish), HTTP/1.1 sockets end; whatever is left after the
 * grace period is cut.
 */
export function trackConnections(server: Http2SecureServer, idleTimeoutMs: number): TrackedConnections {
  server.setTimeout(idleTimeoutMs);
  const sockets = new Set<TLSSocket>();
  const sessions = new Set<ServerHttp2Session>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    closeAll(graceMs: number): void {
      for (const session of sessions) session.close();
      for (const socket of sockets) if (socket.alpnProtocol !== 'h2') socket.end();
      setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs).unref();
    },
  };
}
