/**
 * Correctness checks run before each phase, so a broken server cannot produce good numbers:
 * - baseline: an Encrypt response is well formed and decrypts (locally, with the baseline's key and
 *   the request's AAD) to the plaintext sent;
 * - Keyhold: an Encrypt response is well formed and Keyhold's own Decrypt returns the plaintext
 *   sent; and a request with a corrupted signature is refused with 401 (authentication is really on).
 * Each returns a list of problems (empty when all is well).
 */
import { createDecipheriv } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import {
  checkEncryptResponse,
  decryptBody,
  encryptBody,
  keyPath,
  PLAINTEXT_BYTES,
  signRequest,
  type Sealed,
  type SigningCredential,
} from './xks-requests.js';

export interface Target {
  port: number;
  ca: string;
}

export function post(
  target: Target,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: target.port, method: 'POST', path, headers, ca: target.ca, agent: false, timeout: 5000 },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export async function checkBaseline(target: Target, path: string, aesKey: Buffer): Promise<string[]> {
  const request = encryptBody();
  const body = JSON.stringify(request);
  const response = await post(
    target,
    path,
    { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    body,
  );
  if (response.status !== 200) return [`baseline Encrypt returned HTTP ${response.status}`];
  const parts = checkEncryptResponse(response.body, PLAINTEXT_BYTES);
  if (typeof parts === 'string') return [`baseline Encrypt: ${parts}`];
  try {
    const decipher = createDecipheriv('aes-256-gcm', aesKey, parts.iv);
    decipher.setAAD(Buffer.from(request.additionalAuthenticatedData, 'base64'));
    decipher.setAuthTag(parts.tag);
    const plaintext = Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
    if (!plaintext.equals(Buffer.from(request.plaintext, 'base64'))) return ['baseline Encrypt: ciphertext decrypts to something else'];
  } catch {
    return ['baseline Encrypt: ciphertext does not authenticate under the baseline key'];
  }
  return [];
}

export async function checkKeyhold(target: Target, uriPath: string, keyId: string, credential: SigningCredential): Promise<string[]> {
  const host = `127.0.0.1:${target.port}`;
  const encryptPath = `${uriPath}/keys/${keyId}/encrypt`;
  const request = encryptBody();
  const body = JSON.stringify(request);
  const problems: string[] = [];

  const encrypted = await post(target, encryptPath, await signRequest(host, encryptPath, body, credential), body);
  if (encrypted.status !== 200) return [`keyhold Encrypt returned HTTP ${encrypted.status}: ${encrypted.body.slice(0, 200)}`];
  const parts = checkEncryptResponse(encrypted.body, PLAINTEXT_BYTES);
  if (typeof parts === 'string') return [`keyhold Encrypt: ${parts}`];

  const decryptPath = `${uriPath}/keys/${keyId}/decrypt`;
  const decryptRequest = decryptBody({ keyId, request, parts });
  const decrypted = await post(target, decryptPath, await signRequest(host, decryptPath, decryptRequest, credential), decryptRequest);
  const plaintext = decrypted.status === 200 ? (JSON.parse(decrypted.body) as { plaintext?: string }).plaintext : undefined;
  if (plaintext !== request.plaintext) problems.push(`keyhold Decrypt of its own ciphertext failed (HTTP ${decrypted.status})`);

  const forged = await signRequest(host, encryptPath, body, credential);
  forged.authorization = forged.authorization!.replace(/Signature=([0-9a-f])/, (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`);
  const refused = await post(target, encryptPath, forged, body);
  if (refused.status !== 401) problems.push(`keyhold accepted a bad signature (HTTP ${refused.status}, expected 401)`);
  return problems;
}

/**
 * Real ciphertexts for a Decrypt pool: `count` Encrypt calls to the server itself (8 at a time),
 * request i to keyIds[i % length], each response checked (a 429 or 503 is retried up to 5 times).
 * The baseline ignores the signatures.
 */
export async function sealSamples(
  target: Target,
  options: { uriPath: string; keyIds: string[]; credential: SigningCredential; count: number },
): Promise<Sealed[]> {
  const host = `127.0.0.1:${target.port}`;
  const sealed = new Array<Sealed>(options.count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < options.count; i = next++) {
      const keyId = options.keyIds[i % options.keyIds.length]!;
      const path = keyPath(options.uriPath, keyId, 'encrypt');
      const request = encryptBody();
      const body = JSON.stringify(request);
      let response = await post(target, path, await signRequest(host, path, body, options.credential), body);
      // A node shedding load (429/503, e.g. on a machine busy with other work) is asked again, a few times.
      for (let retry = 1; retry <= 5 && (response.status === 429 || response.status === 503); retry++) {
        await new Promise((resolve) => setTimeout(resolve, 100 * retry));
        response = await post(target, path, await signRequest(host, path, body, options.credential), body);
      }
      if (response.status !== 200)
        throw new Error(`Encrypt for the Decrypt pool returned HTTP ${response.status}: ${response.body.slice(0, 200)}`);
      const parts = checkEncryptResponse(response.body, PLAINTEXT_BYTES);
      if (typeof parts === 'string') throw new Error(`Encrypt for the Decrypt pool: ${parts}`);
      sealed[i] = { keyId, request, parts };
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, options.count) }, worker));
  return sealed;
}
