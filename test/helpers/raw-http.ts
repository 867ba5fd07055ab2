/**
 * Low-level HTTP/1.1 and HTTP/2 clients for transport, route and fuzz tests: any method, any raw path,
 * any headers, any body bytes. Plus a SigV4 signer that signs the RAW path (no dot-segment
 * normalization or re-encoding, unlike smithy and aws4), so tests can show that an invalid path is
 * refused before authentication even when its signature is correct.
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as http2Connect, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import type { TestNode } from './node-harness.js';
import { amzDate } from './signers.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  /** HTTP/1.1: whether the agent reused a kept-alive socket. */
  reusedSocket?: boolean;
  /** 'http/1.1' or 'h2' as negotiated, when known. */
  alpn?: string | false;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Per-request deadline (default 10 s): the request is destroyed and the promise rejects. */
  timeoutMs?: number;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A keep-alive HTTPS agent that trusts the node's certificate for `localhost`. */
export function keepAliveAgent(node: TestNode, maxSockets = 16, alpn?: string[]): Agent {
  return new Agent({ keepAlive: true, ca: node.ca, servername: 'localhost', maxSockets, ...(alpn ? { ALPNProtocols: alpn } : {}) });
}

/** One HTTPS (HTTP/1.1) request to the node through `agent`. Headers are sent as given (the client adds Host only if absent). */
export function sendHttps(node: TestNode, agent: Agent, request: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { ...request.headers };
    const hasHost = Object.keys(headers).some((name) => name.toLowerCase() === 'host');
    // Node sends GET/DELETE/OPTIONS bodies with neither Content-Length nor chunking unless told the length,
    // which would desynchronize the keep-alive connection.
    const hasLength = Object.keys(headers).some((name) => ['content-length', 'transfer-encoding'].includes(name.toLowerCase()));
    if (request.body !== undefined && !hasLength) headers['content-length'] = String(Buffer.byteLength(request.body));
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: node.port,
        path: request.path,
        method: request.method ?? 'POST',
        agent,
        headers,
        setHost: !hasHost,
      },
      (response) => {
        const socket = response.socket as { alpnProtocol?: string | false } | null;
        const alpn = socket?.alpnProtocol;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: parse(text),
            reusedSocket: req.reusedSocket,
            alpn,
          });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`request timed out: ${request.method ?? 'POST'} ${request.path}`));
    }, request.timeoutMs ?? 10_000);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(request.body);
  });
}

/** An HTTP/2 session to the node (ALPN h2), trusting its certificate for `localhost`. */
export function h2Session(node: TestNode): ClientHttp2Session {
  const session = http2Connect(node.url, { ca: node.ca, servername: 'localhost' });
  session.on('error', () => {
    /* surfaced per stream */
  });
  return session;
}

/**
 * One HTTP/2 request. `:authority` defaults to the session's (`localhost:<port>`); a `host` header in
 * `request.headers` is sent as a regular header only if the caller includes it.
 */
export function sendH2(session: ClientHttp2Session, request: RawRequest & { authority?: string }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = {
      ':method': request.method ?? 'POST',
      ':path': request.path,
      ...(request.authority ? { ':authority': request.authority } : {}),
      ...request.headers,
    };
    // endStream false: Node would otherwise half-close GET/HEAD/DELETE streams before the body is written.
    const stream = session.request(headers, { endStream: false });
    const chunks: Buffer[] = [];
    let responseHeaders: Record<string, string | string[] | undefined> = {};
    const timer = setTimeout(() => stream.close(), request.timeoutMs ?? 10_000);
    stream.on('response', (h) => {
      responseHeaders = h;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      const status = Number(responseHeaders[':status'] ?? 0);
      if (status === 0) {
        reject(new Error(`HTTP/2 stream closed without a response (code ${stream.rstCode}): ${request.path}`));
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status, headers: responseHeaders, text, json: parse(text), alpn: 'h2' });
    });
    stream.end(request.body);
  });
}

export interface RawSignOptions {
  method?: string;
  /** The Host header / :authority as sent. */
  host: string;
  /** The raw request target; its query string (if any) becomes the canonical query string. */
  path: string;
  body: string | Buffer;
  accessKeyId: string;
  secret: string;
  region: string;
  service?: string;
  date?: Date | number;
  /** More headers to sign and send (lower-case names), e.g. content-type. */
  extraSignedHeaders?: Record<string, string>;
  /** Sent but not signed. Default `application/json`; null to send none. */
  contentType?: string | null;
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const [k, v] = eq === -1 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
      return [enc(safeDecode(k)), enc(safeDecode(v))] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/**
 * SigV4 for the XKS service with CanonicalURI = the raw path exactly as sent (the XKS rule, xks-spec.md
 * §9.5). Signs `host;x-amz-date` plus `extraSignedHeaders`; returns lower-case headers to send.
 */
export function signRawPath(options: RawSignOptions): Record<string, string> {
  const time = amzDate(options.date ?? Date.now());
  const day = time.slice(0, 8);
  const service = options.service ?? 'kms-xks-proxy';
  const q = options.path.indexOf('?');
  const uri = q === -1 ? options.path : options.path.slice(0, q);
  const query = q === -1 ? '' : options.path.slice(q + 1);
  const signed: Record<string, string> = { ...options.extraSignedHeaders, host: options.host, 'x-amz-date': time };
  const names = Object.keys(signed).sort();
  const canonicalHeaders = names.map((n) => `${n}:${signed[n]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [
    options.method ?? 'POST',
    uri,
    canonicalQuery(query),
    canonicalHeaders,
    names.join(';'),
    sha256Hex(options.body),
  ].join('\n');
  const scope = `${day}/${options.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', time, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${options.secret}`, day), options.region), service), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  const headers: Record<string, string> = {
    ...signed,
    authorization: `AWS4-HMAC-SHA256 Credential=${options.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
  if (options.contentType !== null && headers['content-type'] === undefined)
    headers['content-type'] = options.contentType ?? 'application/json';
  return headers;
}

/** signRawPath with the node's host, region and demo credential. */
export function signForNode(
  node: TestNode,
  path: string,
  body: string | Buffer,
  extra: Partial<RawSignOptions> = {},
): Record<string, string> {
  return signRawPath({
    host: node.host,
    path,
    body,
    accessKeyId: node.credential.accessKeyId,
    secret: node.credential.secret,
    region: node.region,
    ...extra,
  });
}
