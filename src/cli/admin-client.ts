import { existsSync, readFileSync } from 'node:fs';
import { CliError } from './cli-error.js';
import { readLoginToken } from './login-token.js';
import { request as httpsRequest } from 'node:https';
import { isJsonObject, parseJson } from '../core/json.js';
import { dataDirPaths, resolveDataDir, type NodeInfo } from '../core/data-dir.js';

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
    url = readNodeInfo(paths.nodeInfo).adminUrl;
  }
  let token = flags.token ?? env.KEYHOLD_ADMIN_TOKEN ?? readLoginToken(url, env);
  if (!token && options.needToken === false) token = '';
  else if (!token) {
    if (!existsSync(paths.adminToken))
      throw new CliError(`no admin token in ${paths.root}; pass --token-file FILE or set KEYHOLD_ADMIN_TOKEN`);
    token = readFileSync(paths.adminToken, 'utf8').trim();
  }
  const caFile = flags.adminCa ?? (existsSync(paths.tlsCert) ? paths.tlsCert : undefined);
  if (caFile !== undefined && !existsSync(caFile)) throw new CliError(`no CA certificate at ${caFile}`);
  const ca = caFile === undefined ? undefined : readFileSync(caFile);
  return { url, token, ca, approval: flags.approval };
}

/** The `node.json` a serving node writes into its data directory: where its admin API listens. */
export function readNodeInfo(path: string): Pick<NodeInfo, 'adminUrl'> {
  const info = parseJson(readFileSync(path, 'utf8'));
  if (!isJsonObject(info) || typeof info.adminUrl !== 'string')
    throw new CliError(`${path} is not a Keyhold node file (no adminUrl); pass --url`);
  return { adminUrl: info.adminUrl };
}

/**
 * Calls the admin API and returns the parsed JSON, typed as the caller expects the route to answer
 * (the server's view types), or throws a CliError with the server's one-line reason.
 */
export function callAdmin<T>(connection: AdminConnection, method: string, path: string, body?: unknown): Promise<T> {
  return callAdminRaw(connection, method, path, body) as Promise<T>;
}

/** Calls the admin API and returns the parsed JSON, or throws a CliError with the server's one-line reason. */
async function callAdminRaw(connection: AdminConnection, method: string, path: string, body?: unknown): Promise<unknown> {
  const { bytes } = await exchange(connection, method, path, body, 15_000);
  const text = bytes.toString('utf8');
  return text ? parseJson(text) : undefined;
}

/**
 * Calls a route that answers a file (POST /backups) and returns its bytes; refusals and 202 approval
 * requests as callAdmin. `timeoutMs`: how long the socket may stay idle (a node snapshots a large database).
 */
export async function callAdminForFile(
  connection: AdminConnection,
  method: string,
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<Buffer> {
  return (await exchange(connection, method, path, body, timeoutMs)).bytes;
}

/** One request: the answer's bytes when 2xx (not 202 with an approval); a CliError otherwise. */
function exchange(connection: AdminConnection, method: string, path: string, body: unknown, timeoutMs: number): Promise<{ bytes: Buffer }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const target = new URL(`/api/v1${path}`, connection.url);
  return new Promise<{ bytes: Buffer }>((resolve, reject) => {
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
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const status = response.statusCode ?? 500;
          const isJson = (response.headers['content-type'] ?? '').startsWith('application/json');
          const parsed = isJson || status >= 400 ? parseJson(bytes.toString('utf8')) : undefined;
          const waiting = status === 202 && isJsonObject(parsed) ? pendingApprovalOf(parsed.approval) : undefined;
          if (status >= 400) {
            reject(new CliError(isJsonObject(parsed) && typeof parsed.error === 'string' ? parsed.error : `HTTP ${status}`));
          } else if (waiting) {
            reject(pendingApproval(waiting));
          } else resolve({ bytes });
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

/** The approval request a 202 answer carries, when it carries one. */
function pendingApprovalOf(value: unknown): PendingApproval | undefined {
  if (!isJsonObject(value)) return undefined;
  const { id, required, mode, expiresAt } = value;
  if (typeof id !== 'string' || typeof required !== 'number' || typeof expiresAt !== 'string') return undefined;
  if (mode !== 'replay' && mode !== 'claim') return undefined;
  return { id, required, mode, expiresAt };
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
