/**
 * Independent SigV4 signers for tests: they play KMS (`signKmsStyle`, @smithy/signature-v4), the
 * curl-based official test client (`signWithAws4`, aws4), and a signer of the RAW path (`signRawPath`,
 * by hand: no dot-segment normalization or re-encoding, unlike smithy and aws4, so tests can show that
 * an invalid path is refused before authentication even when its signature is correct). All return
 * the headers to send, with lower-case names. None shares code with src/xks/sigv4.ts, so they can act
 * as oracles for it.
 */
import { createHash, createHmac } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import aws4 from 'aws4';

export interface SignOptions {
  /** The full URL, e.g. `https://xks.example.com/p/kms/xks/v1/health`. Alternatively give `host` and `path`. */
  url?: string;
  /** The Host header as sent: `<server>[:<port>]`. */
  host?: string;
  /** The raw request path, no query string. */
  path?: string;
  body: string | Uint8Array;
  accessKeyId: string;
  secret: string;
  region: string;
  /** Signing time; X-Amz-Date keeps whole seconds. Default: now. */
  date?: Date | number;
  /** Default `POST`. */
  method?: string;
  /** Default `kms-xks-proxy`; set another to build negative tests. */
  service?: string;
  /** Default `application/json`. */
  contentType?: string;
  /** More headers to sign and send (lower-case names). */
  extraSignedHeaders?: Record<string, string>;
  /** signWithAws4 only: sign content-type, as curl does. Default true; false gives `host;x-amz-date`. */
  signContentType?: boolean;
}

/** `YYYYMMDD'T'HHMMSS'Z'` for a time. */
export function amzDate(date: Date | number): string {
  return new Date(date).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/**
 * Signs like AWS KMS: SignedHeaders = `host;x-amz-date` (plus any `extraSignedHeaders`).
 * `content-type` is added after signing, so it is sent but not signed.
 */
export async function signKmsStyle(options: SignOptions): Promise<Record<string, string>> {
  const { host, path } = target(options);
  const body = toBytes(options.body);
  const signer = new SignatureV4({
    service: options.service ?? 'kms-xks-proxy',
    region: options.region,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secret },
    sha256: Hash.bind(null, 'sha256'),
    // Otherwise smithy adds and signs x-amz-content-sha256, which KMS does not send.
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: options.method ?? 'POST',
      protocol: 'https:',
      hostname: host.replace(/:\d+$/, ''),
      path,
      query: {},
      // Smithy signs every header it is given (bar a fixed list), so give it only what KMS signs.
      headers: { ...options.extraSignedHeaders, host },
      body,
    },
    { signingDate: new Date(options.date ?? Date.now()) },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = String(value);
  headers['content-type'] = options.contentType ?? 'application/json';
  return headers;
}

/**
 * Signs like the official curl-based test client (`curl -H Content-Type:application/json --aws-sigv4`):
 * SignedHeaders = `content-type;host;x-amz-date` (plus any `extraSignedHeaders`), or `host;x-amz-date`
 * with `signContentType: false`. Synchronous.
 */
export function signWithAws4(options: SignOptions): Record<string, string> {
  const { host, path } = target(options);
  const request = {
    method: options.method ?? 'POST',
    host,
    path,
    service: options.service ?? 'kms-xks-proxy',
    region: options.region,
    headers: {
      ...options.extraSignedHeaders,
      host,
      'content-type': options.contentType ?? 'application/json',
      // aws4 takes the signing time from this header when it is present.
      'x-amz-date': amzDate(options.date ?? Date.now()),
    },
    body: Buffer.from(toBytes(options.body)),
    // aws4 signs every header it is given or adds (Content-Length, from the body) unless told not to.
    extraHeadersToIgnore: { 'content-length': true, 'content-type': options.signContentType === false },
  };
  const signed = aws4.sign(request, { accessKeyId: options.accessKeyId, secretAccessKey: options.secret });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower !== 'content-length' && value !== undefined) headers[lower] = String(value);
  }
  return headers;
}

function target(options: SignOptions): { host: string; path: string } {
  if (options.url !== undefined) {
    const url = new URL(options.url);
    return { host: url.host, path: url.pathname };
  }
  if (options.host === undefined || options.path === undefined) throw new Error('give url, or host and path');
  return { host: options.host, path: options.path };
}

function toBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
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
 * SigV4 for the XKS service with CanonicalURI = the raw path exactly as sent (the XKS rule,
 * docs/kms-client.md#sigv4-verification). Signs `host;x-amz-date` plus `extraSignedHeaders`; returns lower-case headers to send.
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
  const canonicalHeaders = names.map((n) => `${n}:${(signed[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
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
