/** Talking to a served node directly (to check what the CLI did, independently of the CLI). */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isJsonObject } from '../../src/core/json.js';
import { httpsJson } from '../helpers/https-json.js';
import { signKmsStyle } from '../helpers/signers.js';
import type { ServedNode } from './served-node.js';

/** An HTTPS answer: its JSON body typed as the caller expects it (the assertions check it), undefined when not JSON. */
export interface HttpResult<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: T | undefined;
}

export async function httpsCall(
  url: string,
  options: { method: string; ca: Buffer; headers: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<HttpResult> {
  const response = await httpsJson(
    url,
    { method: options.method, ca: options.ca, headers: options.headers, agent: false, timeout: options.timeoutMs ?? 10_000 },
    options.body,
  );
  const json: unknown = response.json;
  return { status: response.status, headers: response.headers, text: response.text, json };
}

export interface Credential {
  accessKeyId: string;
  secret: string;
}

/** Where and as whom to send XKS requests: a keystore's URI path and one of its credentials. */
export interface XksTarget {
  uriPath: string;
  credential: Credential;
}

/** The fields of XKS answers the CLI tests read (docs/requirements.md): an error answer has only errorName and errorMessage. */
export interface XksAnswer {
  errorName?: string;
  errorMessage?: string;
  xksProxyVendor?: string;
  ekmFleetDetails?: { id: string; model: string; healthStatus: string }[];
  keySpec?: string;
  keyUsage?: string[];
  keyStatus?: string;
  ciphertext?: string;
  ciphertextMetadata?: string;
}

/** The health of the first EKM in a GetHealthStatus answer (ACTIVE, DEGRADED, UNAVAILABLE). */
export const ekmHealth = (response: HttpResult<XksAnswer>) => response.json?.ekmFleetDetails?.[0]?.healthStatus;

/** A SigV4-signed (KMS-style, @smithy/signature-v4) XKS request to a served node. */
export async function xksCall(
  node: ServedNode,
  options: XksTarget & { operation: 'health' | 'metadata' | 'encrypt'; keyId?: string; region?: string },
): Promise<HttpResult<XksAnswer>> {
  const requestMetadata = {
    awsPrincipalArn: 'arn:aws:iam::111122223333:role/cli-test',
    kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    kmsRequestId: randomUUID(),
  };
  const keyId = options.keyId ?? '';
  const [path, body] =
    options.operation === 'health'
      ? [`${options.uriPath}/health`, { requestMetadata: { kmsRequestId: randomUUID(), kmsOperation: 'KmsHealthCheck' } }]
      : options.operation === 'metadata'
        ? [`${options.uriPath}/keys/${keyId}/metadata`, { requestMetadata: { ...requestMetadata, kmsOperation: 'DescribeKey' } }]
        : [
            `${options.uriPath}/keys/${keyId}/encrypt`,
            {
              requestMetadata: { ...requestMetadata, kmsOperation: 'Encrypt' },
              plaintext: Buffer.from('keyhold cli test').toString('base64'),
              encryptionAlgorithm: 'AES_GCM',
            },
          ];
  const url = new URL(path, node.url);
  const payload = JSON.stringify(body);
  const headers = await signKmsStyle({
    host: url.host,
    path: url.pathname,
    body: payload,
    accessKeyId: options.credential.accessKeyId,
    secret: options.credential.secret,
    region: options.region ?? 'us-east-1',
  });
  const response = await httpsCall(url.href, { method: 'POST', ca: node.ca, headers, body: payload });
  // An object is read as the spec's answer shape; the assertions on its fields check it.
  return { ...response, json: isJsonObject(response.json) ? response.json : undefined };
}

/** A call to the node's admin API with the data directory's admin token (for setup and checks outside the CLI). */
export async function adminCall<T = unknown>(node: ServedNode, method: string, path: string, body?: unknown): Promise<HttpResult<T>> {
  const token = readFileSync(join(node.dataDir, 'admin-token'), 'utf8').trim();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const response = await httpsCall(new URL(`/api/v1${path}`, node.adminUrl).href, { method, ca: node.ca, headers, body: payload });
  // Typed as the caller expects the route to answer (the server's view types); the assertions check it.
  return { ...response, json: response.json as T | undefined };
}

export const adminGet = <T = unknown>(node: ServedNode, path: string) => adminCall<T>(node, 'GET', path);

/** Every keystore (with credential ids) and every key, as the admin API reports them: compare before/after. */
export async function stateSnapshot(node: ServedNode): Promise<string> {
  const [keystores, keys] = await Promise.all([adminGet(node, '/keystores'), adminGet(node, '/keys')]);
  if (keystores.status !== 200 || keys.status !== 200) throw new Error(`admin API: ${keystores.text} ${keys.text}`);
  return JSON.stringify({ keystores: keystores.json, keys: keys.json });
}

/** A KMS console JSON file (docs/requirements.md#authorization-logging-operations) read as the XKS target it describes; throws when it is not one. */
export function kmsConsoleTarget(file: unknown): XksTarget {
  const credential = isJsonObject(file) ? file.XksProxyAuthenticationCredential : undefined;
  if (
    !isJsonObject(file) ||
    typeof file.XksProxyUriPath !== 'string' ||
    !isJsonObject(credential) ||
    typeof credential.AccessKeyId !== 'string' ||
    typeof credential.RawSecretAccessKey !== 'string'
  ) {
    throw new Error(`not a KMS console file: ${JSON.stringify(file)}`);
  }
  return { uriPath: file.XksProxyUriPath, credential: { accessKeyId: credential.AccessKeyId, secret: credential.RawSecretAccessKey } };
}

/** Reads the KMS console JSON file written for a keystore. */
export function readKmsConsole(dataDir: string, keystore = 'demo'): XksTarget {
  return kmsConsoleTarget(JSON.parse(readFileSync(join(dataDir, 'kms-console', `${keystore}.json`), 'utf8')));
}
