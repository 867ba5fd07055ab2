/**
 * A small HTTPS client for XKS requests in tests, signing with the independent signers in signers.ts.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:https';
import { httpsJson, type JsonResponse } from './https-json.js';
import { signKmsStyle, signWithAws4 } from './signers.js';
import type { TestNode } from './node-harness.js';

export type XksResponse = JsonResponse;

export interface XksRequestOptions {
  /** Full raw path; default built from the node's prefix, `operation` and `keyId`. */
  path?: string;
  operation?: 'health' | 'metadata' | 'encrypt' | 'decrypt';
  keyId?: string;
  body: unknown;
  method?: string;
  /** kms: smithy, host;x-amz-date. aws4: content-type;host;x-amz-date like curl. none: unsigned. */
  signer?: 'kms' | 'aws4' | 'none';
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
    agent = new Agent({ keepAlive: true, ca: node.ca, servername: 'localhost', maxSockets: 8 });
    agents.set(node.url, agent);
  }
  return agent;
}

export function xksPath(node: TestNode, operation: XksRequestOptions['operation'], keyId = node.keyId): string {
  return operation === 'health' ? `${node.prefix}/kms/xks/v1/health` : `${node.prefix}/kms/xks/v1/keys/${keyId}/${operation}`;
}

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
    case 'none':
      headers = { host: node.host, 'content-type': options.contentType ?? 'application/json' };
  }
  options.mutateHeaders?.(headers);
  const payload = options.sendBody ?? body;
  return httpsJson(
    { host: '127.0.0.1', port: node.port, path, method: options.method ?? 'POST', agent: agentFor(node), headers },
    {},
    payload,
  );
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

export function decryptBody(encrypted: Record<string, string>, extra: Record<string, unknown> = {}) {
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

export function closeAgents(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
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
  return httpsJson({ host: '127.0.0.1', port: node.port, path: `/api/v1${path}`, method, agent: agentFor(node), headers }, {}, payload);
}
