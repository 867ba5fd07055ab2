/** One HTTPS request whose answer is read whole and parsed as JSON when it is JSON. */
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export function httpsJson(target: string | URL | RequestOptions, options: RequestOptions, body?: string | Buffer): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const onResponse = (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    };
    const merged = { timeout: 10_000, ...options };
    const request =
      typeof target === 'string' || target instanceof URL
        ? httpsRequest(target, merged, onResponse)
        : httpsRequest({ ...target, ...merged }, onResponse);
    request.on('timeout', () => request.destroy(new Error(`timed out: ${options.method ?? 'GET'} ${String(options.path ?? target)}`)));
    request.on('error', reject);
    request.end(body);
  });
}
