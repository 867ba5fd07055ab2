/**
 * The test client of a node: signed XKS calls (`xks`, with any of the independent signers in signers.ts)
 * and admin API calls (`admin`, `adminAs`, `adminOk`), over the one transport in raw-http.ts, plus the
 * request bodies tests send. Read XKS answers through xks-answers.ts to get them typed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:https';
import type { JsonResponse } from './https-json.js';
import type { TestNode } from './node-harness.js';
import { keepAliveAgent, sendHttps } from './raw-http.js';
import { signKmsStyle, signRawPath, signWithAws4, type RawSignOptions } from './signers.js';

export type XksApi = 'health' | 'metadata' | 'encrypt' | 'decrypt';

/** An answer as the suites read it; `json` is untyped for those that read fields directly (see xks-answers.ts). */
export interface XksResponse extends JsonResponse {
  /** Whether the keep-alive agent reused a socket. */
  reusedSocket?: boolean;
}

export interface XksRequestOptions {
  /** Full raw path; default built from the node's prefix, `operation` and `keyId`. */
  path?: string;
  operation?: XksApi;
  keyId?: string;
  body: unknown;
  method?: string;
  /**
   * kms: smithy, host;x-amz-date (the default). aws4: content-type;host;x-amz-date like curl.
   * raw: host;x-amz-date over the raw path, never normalized. none: unsigned.
   */
  signer?: 'kms' | 'aws4' | 'raw' | 'none';
  credential?: { accessKeyId: string; secret: string };
  region?: string;
  service?: string;
  date?: Date | number;
  contentType?: string;
  /** Applied after signing (tamper with headers). */
  mutateHeaders?: (headers: Record<string, string>) => void;
  /** Bytes actually sent, when they differ from what was signed. */
  sendBody?: string | Buffer;
}

const agents = new Map<string, Agent>();
function agentFor(node: TestNode): Agent {
  let agent = agents.get(node.url);
  if (!agent) {
    agent = keepAliveAgent(node, 8);
    agents.set(node.url, agent);
  }
  return agent;
}

export function closeAgents(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

export function xksPath(node: TestNode, operation: XksApi, keyId = node.keyId): string {
  return operation === 'health' ? `${node.prefix}/kms/xks/v1/health` : `${node.prefix}/kms/xks/v1/keys/${keyId}/${operation}`;
}

/** signRawPath with the node's host, region and demo credential. */
export function signForNode(
  node: TestNode,
  path: string,
  body: string | Buffer,
  extra: Partial<RawSignOptions> = {},
): Record<string, string> {
  return signRawPath({
    host: node.host,
    path,
    body,
    accessKeyId: node.credential.accessKeyId,
    secret: node.credential.secret,
    region: node.region,
    ...extra,
  });
}

/** One XKS request to the node, signed as `options.signer` says, over a keep-alive HTTP/1.1 agent. */
export async function xks(node: TestNode, options: XksRequestOptions): Promise<XksResponse> {
  const path = options.path ?? xksPath(node, options.operation ?? 'health', options.keyId);
  const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const credential = options.credential ?? node.credential;
  const signOptions = {
    host: node.host,
    path,
    body,
    accessKeyId: credential.accessKeyId,
    secret: credential.secret,
    region: options.region ?? node.region,
    service: options.service,
    date: options.date,
    method: options.method,
    contentType: options.contentType,
  };
  let headers: Record<string, string>;
  switch (options.signer ?? 'kms') {
    case 'kms':
      headers = await signKmsStyle(signOptions);
      break;
    case 'aws4':
      headers = signWithAws4(signOptions);
      break;
    case 'raw':
      headers = signRawPath(signOptions);
      break;
    case 'none':
      headers = { host: node.host, 'content-type': options.contentType ?? 'application/json' };
  }
  options.mutateHeaders?.(headers);
  return sendHttps(node, agentFor(node), { path, method: options.method ?? 'POST', headers, body: options.sendBody ?? body });
}

/** Calls the admin API of a test node with the bootstrap token. */
export async function admin(node: TestNode, method: string, path: string, body?: unknown): Promise<XksResponse> {
  return adminAs(node, node.adminToken, method, path, body);
}

/** Calls the admin API of a test node with a given token (undefined: no Authorization header). */
export async function adminAs(
  node: TestNode,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<XksResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = {
    host: node.host,
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    ...(payload ? { 'content-type': 'application/json' } : {}),
    ...extraHeaders,
  };
  return sendHttps(node, agentFor(node), { path: `/api/v1${path}`, method, headers, body: payload });
}

/**
 * An admin call that must succeed (status below 300); returns its body as the type the caller names
 * (the admin API's JSON is not checked here: name only the fields the test reads).
 */
export async function adminOk<T = unknown>(node: TestNode, method: string, path: string, body?: unknown): Promise<T> {
  const response = await admin(node, method, path, body);
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${response.text}`);
  const json: unknown = response.json;
  return json as T;
}

/** The `error` line of an admin API refusal (asserts there is one). */
export function adminError(response: { status: number; text: string; json: unknown }): string {
  const { json } = response;
  assert.ok(typeof json === 'object' && json !== null && 'error' in json && typeof json.error === 'string', response.text);
  return json.error;
}

export const metadata = (kmsOperation: string, extra: Record<string, unknown> = {}) => ({
  awsPrincipalArn: 'arn:aws:iam::111122223333:role/tester',
  kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  kmsOperation,
  kmsRequestId: randomUUID(),
  ...extra,
});

export const healthBody = (kmsOperation = 'KmsHealthCheck') => ({ requestMetadata: { kmsOperation, kmsRequestId: randomUUID() } });

export function encryptBody(plaintext: Buffer, extra: Record<string, unknown> = {}) {
  return { requestMetadata: metadata('Encrypt'), plaintext: plaintext.toString('base64'), encryptionAlgorithm: 'AES_GCM', ...extra };
}

/** The fields of an Encrypt answer that a Decrypt request sends back (any may be left out to test that). */
export interface EncryptedFields {
  ciphertext?: string;
  ciphertextMetadata?: string;
  initializationVector?: string;
  authenticationTag?: string;
}

export function decryptBody(encrypted: EncryptedFields, extra: Record<string, unknown> = {}) {
  return {
    requestMetadata: metadata('Decrypt'),
    ciphertext: encrypted.ciphertext,
    ciphertextMetadata: encrypted.ciphertextMetadata,
    initializationVector: encrypted.initializationVector,
    authenticationTag: encrypted.authenticationTag,
    encryptionAlgorithm: 'AES_GCM',
    ...extra,
  };
}
