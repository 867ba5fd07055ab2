import { existsSync, readFileSync } from 'node:fs';
import { readLoginToken } from './login-token.js';
import { request as httpsRequest } from 'node:https';
import { dataDirPaths, resolveDataDir, type NodeInfo } from '../core/data-dir.js';

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
  /** Empty for calls that need none (login). */
  token: string;
  ca?: Buffer;
  /** Sent as X-Keyhold-Approval: claims an approved request (`--approval <id>`). */
  approval?: string;
}

export interface ConnectionFlags {
  dataDir?: string;
  url?: string;
  token?: string;
  adminCa?: string;
  approval?: string;
}

/**
 * Finds the running node's admin API: flags, then KEYHOLD_ADMIN_URL/TOKEN, then the token saved by
 * `keyhold login` (for that URL), then the data directory's bootstrap token.
 */
export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  options: { needToken?: boolean } = {},
): AdminConnection {
  const paths = dataDirPaths(resolveDataDir(flags.dataDir, env));
  let url = flags.url ?? env.KEYHOLD_ADMIN_URL;
  if (!url) {
    if (!existsSync(paths.nodeInfo)) {
      throw new CliError(`no running node found in ${paths.root} (start one with: keyhold serve), or pass --url`);
    }
    url = (JSON.parse(readFileSync(paths.nodeInfo, 'utf8')) as NodeInfo).adminUrl;
  }
  let token = flags.token ?? env.KEYHOLD_ADMIN_TOKEN ?? readLoginToken(url, env);
  if (!token && options.needToken === false) token = '';
  else if (!token) {
    if (!existsSync(paths.adminToken)) throw new CliError(`no admin token in ${paths.root}; pass --token or set KEYHOLD_ADMIN_TOKEN`);
    token = readFileSync(paths.adminToken, 'utf8').trim();
  }
  const caFile = flags.adminCa ?? (existsSync(paths.tlsCert) ? paths.tlsCert : undefined);
  if (caFile !== undefined && !existsSync(caFile)) throw new CliError(`no CA certificate at ${caFile}`);
  const ca = caFile === undefined ? undefined : readFileSync(caFile);
  return { url, token, ca, approval: flags.approval };
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
          ...(connection.token ? { authorization: `Bearer ${connection.token}` } : {}),
          ...(connection.approval ? { 'x-keyhold-approval': connection.approval } : {}),
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
          } else if (response.statusCode === 202 && (parsed as { approval?: unknown } | undefined)?.approval) {
            reject(pendingApproval((parsed as { approval: PendingApproval }).approval));
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

interface PendingApproval {
  id: string;
  required: number;
  mode: 'replay' | 'claim';
  expiresAt: string;
}

/** A gated operation waits for approvers: not done, so a non-zero exit (3), with what happens next. */
function pendingApproval(approval: PendingApproval): CliError {
  const then =
    approval.mode === 'claim'
      ? `once approved, repeat this command with --approval ${approval.id}`
      : 'it runs when the last approval arrives';
  return new CliError(
    `approval required: request ${approval.id} needs ${approval.required} approval(s) before ${approval.expiresAt}; ${then}`,
    3,
  );
}
