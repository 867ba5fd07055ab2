import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { XksError } from './errors.js';

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** The client went away before its request was complete: nothing to answer, and not a server fault. */
export class ClientAbortedError extends Error {
  constructor() {
    super('client aborted the request');
    this.name = 'ClientAbortedError';
  }
}

/** Reads the raw body (SigV4 hashes these exact bytes), refusing more than `limit` bytes. */
export function readBody(request: AnyRequest, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(bodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const aborted = () => reject(new ClientAbortedError());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.off('data', onData);
        request.resume();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('aborted', aborted);
    request.once('error', aborted);
    request.once('end', () => {
      // An HTTP/2 stream reset mid-body ends the stream too; only a complete request counts.
      if (request.aborted) aborted();
      else resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size));
    });
  });
}

function bodyTooLarge(limit: number): XksError {
  return new XksError('UnsupportedOperationException', `The request body is larger than this proxy supports (${limit} bytes)`);
}

/**
 *= docs/requirements.md#transport
 *# 1. [MUST] Every request and response body, errors included, is JSON over HTTPS with `Content-Type: application/json`.
 */
export function sendJson(response: AnyResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  response.end(payload);
}
