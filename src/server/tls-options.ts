import { constants } from 'node:crypto';
import type { SecureServerOptions } from 'node:http2';

/**
 * TLS settings for the XKS endpoint.
 *
 *= docs/requirements.md#transport
 *# 3. [MUST] The proxy speaks TLS 1.2 or later; Keyhold also refuses TLS 1.0 and 1.1.
 *# 4. [MUST] At least one of the four cipher suites the specification lists (two TLS 1.3, two TLS 1.2) can be negotiated.
 *# 2. [MUST] The proxy speaks HTTP/1.1 or a later HTTP version.
 *# 5. [MUST] A client that speaks only HTTP/1.1 is served even when HTTP/2 is offered.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
export const TLS13_CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

/** The certificate and key a listener serves. */
export interface TlsPem {
  certPem: string | Buffer;
  keyPem: string | Buffer;
}

/**
 * Client certificates a listener asks for (mutual TLS). `required`: the handshake fails without an accepted one
 * (the admin listener); otherwise the handshake completes and client-cert-guard.ts decides (the XKS listener).
 */
export interface ClientAuth {
  caPem: string | Buffer;
  required: boolean;
  /** The file the bundle was read from: read again with the certificate (tls-reload.ts). */
  caPath?: string;
}

/** The TLS part of a listener's options; also what setSecureContext gets when the certificate is reloaded. */
export function tlsContextOptions(pem: TlsPem, clientAuth?: ClientAuth): SecureServerOptions {
  return {
    cert: pem.certPem,
    key: pem.keyPem,
    minVersion: 'TLSv1.2',
    ciphers: `${TLS13_CIPHERSUITES}:${TLS12_CIPHERS}`,
    honorCipherOrder: true,
    // TLS 1.2 renegotiation refused outright (TLS 1.3 and HTTP/2 have none): a renegotiation costs the server a
    // handshake each time, for nothing KMS needs (docs/security.md#transport-limits).
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
    ...(clientAuth ? { ca: clientAuth.caPem } : {}),
  };
}

export function tlsServerOptions(pem: TlsPem, clientAuth?: ClientAuth): SecureServerOptions {
  return {
    ...tlsContextOptions(pem, clientAuth),
    ...(clientAuth ? { requestCert: true, rejectUnauthorized: clientAuth.required } : {}),
    allowHTTP1: true,
    // ALPN: h2 first, then http/1.1 (set by allowHTTP1).
  };
}
