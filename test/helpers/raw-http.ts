/**
 * The one HTTPS transport of the test clients: HTTP/1.1 (`sendHttps`, `httpsRequest`) and HTTP/2
 * (`sendH2`) with any method, any raw path, any headers and any body bytes. Answers are read whole;
 * `json` is the parsed body when it is JSON (unknown: read it through xks-answers.ts or check it).
 * Signing is signers.ts's job; xks-client.ts puts the two together for XKS and admin calls.
 */
import type { IncomingMessage } from 'node:http';
import { connect as http2Connect, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { Agent, request as nodeHttpsRequest, type RequestOptions } from 'node:https';
import type { TestNode } from './node-harness.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
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

export function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A keep-alive HTTPS agent that trusts the node's certificate for `localhost`. */
export function keepAliveAgent(node: TestNode, maxSockets = 16, alpn?: string[]): Agent {
  return new Agent({ keepAlive: true, ca: node.ca, servername: 'localhost', maxSockets, ...(alpn ? { ALPNProtocols: alpn } : {}) });
}

/**
 * One HTTPS (HTTP/1.1) request, answered whole. `options` are node:https's; the request is destroyed
 * (and the promise rejects) after `timeoutMs`.
 */
export function httpsRequest(options: RequestOptions, body?: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = nodeHttpsRequest(options, (response: IncomingMessage) => {
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
          json: parseJson(text),
          reusedSocket: req.reusedSocket,
          alpn,
        });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`request timed out: ${options.method ?? 'GET'} ${options.path ?? ''}`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

/** One HTTP/1.1 request to the node through `agent`. Headers are sent as given (the client adds Host only if absent). */
export function sendHttps(node: TestNode, agent: Agent, request: RawRequest): Promise<RawResponse> {
  const headers: Record<string, string | string[]> = { ...request.headers };
  const hasHost = Object.keys(headers).some((name) => name.toLowerCase() === 'host');
  // Node sends GET/DELETE/OPTIONS bodies with neither Content-Length nor chunking unless told the length,
  // which would desynchronize the keep-alive connection.
  const hasLength = Object.keys(headers).some((name) => ['content-length', 'transfer-encoding'].includes(name.toLowerCase()));
  if (request.body !== undefined && !hasLength) headers['content-length'] = String(Buffer.byteLength(request.body));
  return httpsRequest(
    { host: '127.0.0.1', port: node.port, path: request.path, method: request.method ?? 'POST', agent, headers, setHost: !hasHost },
    request.body,
    request.timeoutMs,
  );
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
    stream.on('error', (error: Error) => {
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
      resolve({ status, headers: responseHeaders, text, json: parseJson(text), alpn: 'h2' });
    });
    stream.end(request.body);
  });
}
