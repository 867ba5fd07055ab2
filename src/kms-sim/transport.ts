/**
 * HTTPS to the proxy as KMS does it (docs/kms-client.md#transport, #simulator-state): HTTP/1.1 with keep-alive,
 * TLS 1.2+ with the four suites KMS offers, a deadline per attempt covering connect + TLS +
 * response (250 ms by default), and exactly one retry when that deadline passes. HTTP errors
 * are answers, never retried. Every attempt calls `prepare` again, so it is freshly signed.
 */
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TransportFailureKind } from './error-mapping.js';

/** TLS 1.3 and TLS 1.2 suites KMS accepts (docs/requirements.md#transport). */
export const KMS_CIPHER_SUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
].join(':');

export const DEFAULT_DEADLINE_MS = 250;
const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface TlsOptions {
  /** Trust anchors for the proxy's certificate, instead of Node's public roots. */
  ca?: string | Buffer;
  /** Skip certificate verification (never what KMS does; for local trials only). */
  insecure?: boolean;
  /** SNI and certificate host name, when it differs from the endpoint host. */
  servername?: string;
  /** A client certificate and its key (PEM), for a proxy that requires mutual TLS (as KMS presents one). */
  clientCertificate?: { cert: string | Buffer; key: string | Buffer };
}

export interface TransportOptions {
  tls?: TlsOptions;
  /** Deadline per attempt in milliseconds. */
  deadlineMs?: number;
}

export interface HttpRequestSpec {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface TransportFailure {
  failure: TransportFailureKind;
  /** The Node error code, e.g. ECONNREFUSED or DEPTH_ZERO_SELF_SIGNED_CERT. */
  code?: string;
  message: string;
}

export type AttemptOutcome = { response: HttpResponse } | TransportFailure;

export interface TransportResult {
  outcome: AttemptOutcome;
  /** Wall time over all attempts: ~250 ms after one timeout, ~500 ms after a timed-out retry. */
  latencyMs: number;
  attempts: number;
}

export interface ProxyTransport {
  send(origin: URL, prepare: () => Promise<HttpRequestSpec>): Promise<TransportResult>;
  close(): void;
}

export function isTransportFailure(outcome: AttemptOutcome): outcome is TransportFailure {
  return 'failure' in outcome;
}

export function createHttpsTransport(options: TransportOptions = {}): ProxyTransport {
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const tls = options.tls ?? {};
  const agent = new Agent({
    keepAlive: true,
    minVersion: 'TLSv1.2',
    ciphers: KMS_CIPHER_SUITES,
    rejectUnauthorized: !tls.insecure,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    ...(tls.clientCertificate ?? {}),
  });

  async function send(origin: URL, prepare: () => Promise<HttpRequestSpec>): Promise<TransportResult> {
    const started = performance.now();
    let attempts = 0;
    let outcome: AttemptOutcome;
    do {
      attempts += 1;
      outcome = await attemptOnce(agent, origin, await prepare(), deadlineMs);
    } while (isTransportFailure(outcome) && outcome.failure === 'timeout' && attempts < 2);
    return { outcome, latencyMs: performance.now() - started, attempts };
  }

  return { send, close: () => agent.destroy() };
}

/**
 * One attempt. A pooled socket the server already closed is tried again once on a fresh
 * connection: that is connection-pool housekeeping, not KMS's retry.
 */
async function attemptOnce(agent: Agent, origin: URL, spec: HttpRequestSpec, deadlineMs: number): Promise<AttemptOutcome> {
  const first = await exchange(agent, origin, spec, deadlineMs);
  return first.staleSocket ? (await exchange(agent, origin, spec, deadlineMs)).outcome : first.outcome;
}

type Phase = 'tcp' | 'tls' | 'established';

const NETWORK_ERROR_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'ENETUNREACH', 'EHOSTUNREACH']);

function classifyError(error: NodeJS.ErrnoException, phase: Phase): TransportFailureKind {
  if (phase === 'tls') return 'tls';
  if (phase === 'established') return 'network';
  return NETWORK_ERROR_CODES.has(error.code ?? '') ? 'network' : 'tcp';
}

function exchange(
  agent: Agent,
  origin: URL,
  spec: HttpRequestSpec,
  deadlineMs: number,
): Promise<{ outcome: AttemptOutcome; staleSocket: boolean }> {
  return new Promise((resolve) => {
    let phase: Phase = 'tcp';
    let settled = false;
    const finish = (outcome: AttemptOutcome, staleSocket = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve({ outcome, staleSocket });
    };
    const request = httpsRequest({
      agent,
      host: origin.hostname,
      port: origin.port === '' ? 443 : Number(origin.port),
      method: spec.method,
      path: spec.path,
      headers: { ...spec.headers, 'content-length': String(spec.body.length) },
    });
    const deadline = setTimeout(() => {
      finish({ failure: 'timeout', message: `no complete answer within ${deadlineMs} ms (stuck in ${phase})` });
      request.destroy();
    }, deadlineMs);

    request.on('socket', (socket: Socket) => {
      if (!socket.connecting) {
        phase = 'established';
        return;
      }
      socket.once('connect', () => (phase = 'tls'));
      socket.once('secureConnect', () => (phase = 'established'));
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      const stale = request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
      finish({ failure: classifyError(error, phase), code: error.code, message: error.message }, stale);
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          finish({ failure: 'network', message: `response larger than ${MAX_RESPONSE_BYTES} bytes` });
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () =>
        finish({ response: { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) } }),
      );
      response.on('error', (error: NodeJS.ErrnoException) => finish({ failure: 'network', code: error.code, message: error.message }));
    });
    request.end(spec.body);
  });
}
