/**
 * Sends one signed XKS request to a proxy and hands back the raw answer. `callProxy` also
 * records the HTTP-level result in the metrics; the typed calls in xks-calls.ts use `exchange`
 * and record after their response checks. Tests use the options to send deliberately wrong
 * requests (another credential, a body changed after signing, a GET, an unsigned request).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TransportFailureKind } from './error-mapping.js';
import { classifyForMetrics, type ProxyMetrics, type XksOperation } from './metrics.js';
import type { RequestSigner, XksCredential } from './signer.js';
import { isTransportFailure, type ProxyTransport } from './transport.js';
import { isJsonObject, parseJsonObject } from '../core/json.js';
import { validateErrorResponse } from './validators.js';

/** Where and as whom to call: one custom key store's proxy settings. */
export interface ProxyTarget {
  uriEndpoint: string;
  uriPath: string;
  credential: XksCredential;
  region: string;
  customKeyStoreId?: string;
}

export interface CallProxyOptions {
  method?: string;
  /** Sign with this credential instead of the target's. */
  credential?: XksCredential;
  /** Sign for this region instead of the target's. */
  region?: string;
  /** Send without Authorization / X-Amz-Date. */
  unsigned?: boolean;
  /** Use `path` as the whole request path instead of appending it to the target's uriPath. */
  rawPath?: boolean;
  /** The kmsOperation metrics dimension; defaults to `body.requestMetadata.kmsOperation`. */
  kmsOperation?: string;
  tamper?: {
    /** Replace the body after it was signed (the signature still covers the original). */
    bodyAfterSigning?: (body: Buffer) => Buffer;
    /** Edit the headers after signing. */
    headersAfterSigning?: (headers: Record<string, string>) => Record<string, string>;
  };
}

export type RawProxyResult =
  | {
      kind: 'response';
      status: number;
      headers: IncomingHttpHeaders;
      bodyText: string;
      /** The body when it is one JSON object. */
      json?: Record<string, unknown>;
      latencyMs: number;
      attempts: number;
    }
  | { kind: 'transport-failure'; failure: TransportFailureKind; code?: string; message: string; latencyMs: number; attempts: number };

export interface ProxyClient {
  exchange(target: ProxyTarget, path: string, body: unknown, options?: CallProxyOptions): Promise<RawProxyResult>;
  /** `exchange`, recorded in the metrics as a call of `operation` (with only HTTP-level checks). */
  callProxy(target: ProxyTarget, operation: XksOperation, path: string, body: unknown, options?: CallProxyOptions): Promise<RawProxyResult>;
}

export interface ProxyClientDeps {
  transport: ProxyTransport;
  sign: RequestSigner;
  metrics: ProxyMetrics;
}

/** Objects are sent as JSON; a Buffer or string is sent byte for byte. */
function bodyBytes(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** The `requestMetadata.kmsOperation` of a request body, or 'Unknown' (the metrics dimension). */
export function kmsOperationOf(body: unknown): string {
  const metadata = isJsonObject(body) ? body.requestMetadata : undefined;
  return isJsonObject(metadata) && typeof metadata.kmsOperation === 'string' ? metadata.kmsOperation : 'Unknown';
}

export function createProxyClient({ transport, sign, metrics }: ProxyClientDeps): ProxyClient {
  async function exchange(target: ProxyTarget, path: string, body: unknown, options: CallProxyOptions = {}): Promise<RawProxyResult> {
    const origin = new URL(target.uriEndpoint);
    const fullPath = options.rawPath ? path : `${target.uriPath}${path}`;
    const method = options.method ?? 'POST';
    const signedBody = bodyBytes(body);
    const prepare = async () => {
      const headers = options.unsigned
        ? { host: origin.host, 'content-type': 'application/json' }
        : await sign({
            method,
            host: origin.host,
            path: fullPath,
            body: signedBody,
            credential: options.credential ?? target.credential,
            region: options.region ?? target.region,
          });
      return {
        method,
        path: fullPath,
        headers: options.tamper?.headersAfterSigning?.(headers) ?? headers,
        body: options.tamper?.bodyAfterSigning?.(signedBody) ?? signedBody,
      };
    };
    const { outcome, latencyMs, attempts } = await transport.send(origin, prepare);
    if (isTransportFailure(outcome)) return { kind: 'transport-failure', ...outcome, latencyMs, attempts };
    const bodyText = outcome.response.body.toString('utf8');
    const json = parseJsonObject(bodyText);
    return {
      kind: 'response',
      status: outcome.response.status,
      headers: outcome.response.headers,
      bodyText,
      ...(json ? { json } : {}),
      latencyMs,
      attempts,
    };
  }

  async function callProxy(
    target: ProxyTarget,
    operation: XksOperation,
    path: string,
    body: unknown,
    options: CallProxyOptions = {},
  ): Promise<RawProxyResult> {
    const result = await exchange(target, path, body, options);
    metrics.record({
      ...(target.customKeyStoreId ? { customKeyStoreId: target.customKeyStoreId } : {}),
      xksOperation: operation,
      kmsOperation: options.kmsOperation ?? kmsOperationOf(body),
      ...httpLevelOutcome(result),
      latencyMs: result.latencyMs,
      attempts: result.attempts,
    });
    return result;
  }

  return { exchange, callProxy };
}

/** The metrics reading of a raw exchange, without any operation-specific response checks. */
function httpLevelOutcome(result: RawProxyResult) {
  if (result.kind === 'transport-failure') {
    const outcome = { kind: 'transport', failure: result.failure } as const;
    return { outcome: outcome.kind, ...classifyForMetrics(outcome) };
  }
  if (result.status === 200 && result.json) return { outcome: 'success' as const, httpStatus: 200, ...classifyForMetrics('success') };
  const errorBody = validateErrorResponse(result.status, result.bodyText).value;
  const outcome = errorBody
    ? ({ kind: 'proxy-error', errorName: errorBody.errorName } as const)
    : ({ kind: 'malformed-response' } as const);
  return { outcome: outcome.kind, httpStatus: result.status, ...classifyForMetrics(outcome) };
}
