/** One HTTPS request to a URL (or request options) whose answer is read whole and parsed as JSON when it is JSON. */
import type { RequestOptions } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { httpsRequest } from './raw-http.js';

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // The suites that call this read fields of many shapes straight off the body; XKS suites read
  // answers through the typed readers of xks-answers.ts instead.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/**
 * `target` is a URL or node:https request options, `options` more options (merged over `target`);
 * `options.timeout` (default 10 s) bounds the whole request. Built on raw-http.ts's transport.
 */
export async function httpsJson(
  target: string | URL | RequestOptions,
  options: RequestOptions,
  body?: string | Buffer,
): Promise<JsonResponse> {
  const base = typeof target === 'string' || target instanceof URL ? urlToHttpOptions(new URL(target)) : target;
  const { timeout, ...rest } = { ...base, ...options };
  const response = await httpsRequest(rest, body, timeout ?? 10_000);
  return { status: response.status, headers: response.headers, text: response.text, json: response.json };
}
