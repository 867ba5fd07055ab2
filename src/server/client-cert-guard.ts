import type { Http2SecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { XKS_ERROR_STATUS } from '../xks/errors.js';
import { sendJson, type AnyRequest, type AnyResponse } from '../xks/http-io.js';
import { judgeClientCertificate, type ClientCertRefusal } from './client-certificates.js';

/**
 * Enforces mutual TLS on the XKS listener (docs/security.md#mutual-tls).
 *
 * The listener asks every client for a certificate and verifies it against the configured CA bundle, but lets the
 * handshake finish (`rejectUnauthorized: false`) so that a load balancer's health check without a certificate can
 * still reach `/ping`, `/healthz` and `/readyz`. Then:
 * - a client that presented a certificate of another CA, an expired or self-signed one, or one whose subject CN is
 *   not accepted is disconnected as soon as the handshake completes, before a byte of HTTP is read;
 * - a client without a certificate gets its connection, but every XKS request on it is answered
 *   401 AuthenticationFailedException before any SigV4 work.
 * Each refusal is counted (`keyhold_xks_client_certificate_refusals_total{reason}`) and logged with its reason.
 */
export interface ClientCertGuard {
  /** Watches the server's connections: refused certificates are cut right after the handshake. */
  attach(server: Http2SecureServer): void;
  /** Wraps the XKS handler: requests from a connection without an accepted certificate are refused first. */
  guard<H extends (request: AnyRequest, response: AnyResponse) => Promise<void>>(handler: H): H;
}

export interface ClientCertGuardOptions {
  acceptsCommonName: (commonName: string) => boolean;
  logger: Logger;
  /** Counts a refusal (the metric). */
  onRefusal: (reason: ClientCertRefusal) => void;
}

export function createClientCertGuard(options: ClientCertGuardOptions): ClientCertGuard {
  const { logger, onRefusal } = options;
  const refuse = (reason: ClientCertRefusal, detail: string, remoteAddress: string | undefined) => {
    onRefusal(reason);
    logger.warn({ event: 'xks.client_certificate_refused', reason, remoteAddress }, detail);
  };
  return {
    attach(server) {
      // Before the HTTP/2 server's own listener, so that a refused connection never gets an HTTP parser or session.
      server.prependListener('secureConnection', (socket: TLSSocket) => {
        const verdict = judgeClientCertificate(socket, options.acceptsCommonName);
        // No certificate: decided per request (health checks are allowed), see guard().
        if (verdict.ok || verdict.reason === 'no_certificate') return;
        refuse(verdict.reason, verdict.detail, socket.remoteAddress);
        socket.destroy();
      });
    },
    guard(handler) {
      const guarded = async (request: AnyRequest, response: AnyResponse) => {
        // Judged again per request (cheap): a connection cut by attach() never gets here, but this keeps
        // the rule true whatever the transport does with data already read.
        const socket = request.socket as TLSSocket;
        const verdict = judgeClientCertificate(socket, options.acceptsCommonName);
        if (verdict.ok) return handler(request, response);
        if (verdict.reason !== 'no_certificate') {
          response.destroy();
          return;
        }
        refuse(verdict.reason, verdict.detail, socket.remoteAddress);
        // Drain what the client sends, without reading it.
        request.resume();
        sendJson(response, XKS_ERROR_STATUS.AuthenticationFailedException, {
          errorName: 'AuthenticationFailedException',
          errorMessage: 'A client certificate is required',
        });
      };
      return guarded as typeof handler;
    },
  };
}
