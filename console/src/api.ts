/**
 * The console's only way to the node: the admin API under /api/v1 with the user's bearer token. The token
 * lives in sessionStorage (this tab only, gone when it closes), never in a cookie, so no other site can
 * make the browser send it. A 401 tells the app to ask for a login again; the page behind stays as it was.
 */

const TOKEN_KEY = 'keyhold.token';
const NAME_KEY = 'keyhold.name';

/** The admin API's one-line error, with the HTTP status and (when the message names one) the field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown = undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The field the server's message starts with (`rules[0].effect must be…`, `attach.group: …`), if any. */
  get field(): string | undefined {
    return fieldOf(this.message);
  }
}

/** `rules[0].kmsOperation[1]: "x" is not …` → `rules[0].kmsOperation[1]`; a bare sentence → undefined. */
export function fieldOf(message: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9]*(?:\[\d+\]|\.[A-Za-z][A-Za-z0-9]*)*)(?::| must | is | has )/.exec(message);
  return match?.[1];
}

/**
 * Whether a one-line error is about `field`: it names the field first (`prefix /api is reserved`,
 * `name must be…`, `requestMetadata.kmsOperation: …`), not one of its sub-fields (`attach.group` is not `attach`).
 */
export function errorNames(message: string, field: string): boolean {
  if (fieldOf(message) === field) return true;
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}(?=[ :,])`).test(message);
}

export interface Session {
  token: string;
  /** Who logged in: the user name, or `API token` when a token was pasted. */
  name: string;
}

export function loadSession(): Session | undefined {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { token, name: sessionStorage.getItem(NAME_KEY) ?? 'API token' } : undefined;
}

export function saveSession(session: Session | undefined): void {
  if (session) {
    sessionStorage.setItem(TOKEN_KEY, session.token);
    sessionStorage.setItem(NAME_KEY, session.name);
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(NAME_KEY);
  }
}

let expiredListener: (() => void) | undefined;
/** Called when the node answers 401: the session ended (expired, revoked, or never valid). */
export function onSessionExpired(listener: () => void): void {
  expiredListener = listener;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorMessage(body: unknown, status: number): string {
  if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string') return body.error;
  if (typeof body === 'string' && body.length > 0 && body.length < 300) return body;
  return `the node answered ${status}`;
}

/** Sends one request with the session's token; the parsed JSON body, or an ApiError. */
export async function request<T>(method: string, path: string, body?: unknown, token = loadSession()?.token): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'the node cannot be reached');
  }
  const parsed = await readBody(response);
  if (response.status === 401 && token) {
    saveSession(undefined);
    expiredListener?.();
  }
  if (!response.ok) throw new ApiError(response.status, errorMessage(parsed, response.status), parsed);
  return parsed as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
};

/** The Prometheus text of GET /metrics (needs metrics:read). */
export async function fetchMetricsText(): Promise<string> {
  const token = loadSession()?.token;
  const response = await fetch('/metrics', {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    credentials: 'omit',
    cache: 'no-store',
  }).catch(() => undefined);
  if (!response) throw new ApiError(0, 'the node cannot be reached');
  const text = await response.text();
  if (response.status === 401 && token) {
    saveSession(undefined);
    expiredListener?.();
  }
  if (!response.ok) throw new ApiError(response.status, errorMessage(safeJson(text), response.status));
  return text;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Saves `content` as a file the browser downloads (a Blob URL: no inline data, no server round trip). */
export function download(filename: string, content: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** `a=1&b=2` from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
