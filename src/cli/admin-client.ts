import { existsSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { dataDirPaths, resolveDataDir, type NodeInfo } from '../server/data-dir.js';

/** A failure to report as one line and a non-zero exit. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface AdminConnection {
  url: string;
  token: string;
  ca?: Buffer;
}

export interface ConnectionFlags {
  dataDir?: string;
  url?: string;
  token?: string;
  adminCa?: string;
}

/** Finds the running node's admin API: flags, then KEYHOLD_ADMIN_URL/TOKEN, then the data directory. */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): AdminConnection {
  const paths = dataDirPaths(resolveDataDir(flags.dataDir, env));
  let url = flags.url ?? env.KEYHOLD_ADMIN_URL;
  if (!url) {
    if (!existsSync(paths.nodeInfo)) {
      throw new CliError(`no running node found in ${paths.root} (start one with: keyhold serve), or pass --url`);
    }
    url = (JSON.parse(readFileSync(paths.nodeInfo, 'utf8')) as NodeInfo).adminUrl;
  }
  let token = flags.token ?? env.KEYHOLD_ADMIN_TOKEN;
  if (!token) {
    if (!existsSync(paths.adminToken)) throw new CliError(`no admin token in ${paths.root}; pass --token or set KEYHOLD_ADMIN_TOKEN`);
    token = readFileSync(paths.adminToken, 'utf8').trim();
  }
  const caFile = flags.adminCa ?? (existsSync(paths.tlsCert) ? paths.tlsCert : undefined);
  if (caFile !== undefined && !existsSync(caFile)) throw new CliError(`no CA certificate at ${caFile}`);
  const ca = caFile === undefined ? undefined : readFileSync(caFile);
  return { url, token, ca };
}

/** Calls the admin API and returns the parsed JSON, or throws a CliError with the server's one-line reason. */
export function callAdmin<T>(connection: AdminConnection, method: string, path: string, body?: unknown): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const target = new URL(`/api/v1${path}`, connection.url);
  return new Promise<T>((resolve, reject) => {
    const request = httpsRequest(
      target,
      {
        method,
        ca: connection.ca,
        headers: {
          authorization: `Bearer ${connection.token}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 15_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const parsed = text ? safeJson(text) : undefined;
          if ((response.statusCode ?? 500) >= 400) {
            const reason = (parsed as { error?: string } | undefined)?.error ?? `HTTP ${response.statusCode}`;
            reject(new CliError(reason));
          } else resolve(parsed as T);
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ECONNREFUSED' ? 'connection refused (is `keyhold serve` running?)' : error.message;
      reject(new CliError(`cannot reach the admin API at ${connection.url}: ${why}`));
    });
    request.end(payload);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One path segment, encoded so that ids such as `..` reach the API as themselves, not as dot-segments. */
export function pathSegment(value: string): string {
  return encodeURIComponent(value).replace(/\./g, '%2E');
}
