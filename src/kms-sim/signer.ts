/**
 * Signs proxy requests the way KMS does (docs/kms-client.md#sigv4, #sigv4-libraries): SigV4, service
 * `kms-xks-proxy`, SignedHeaders exactly `host;x-amz-date`, no `x-amz-content-sha256`.
 * `content-type` is added after signing so it is sent but not signed.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import type { Clock } from '../core/clock.js';

export const XKS_SIGNING_SERVICE = 'kms-xks-proxy';

export interface XksCredential {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SignRequestInput {
  method: string;
  /** The Host header value: hostname, plus `:port` when not 443. */
  host: string;
  path: string;
  body: Buffer;
  credential: XksCredential;
  region: string;
}

export type RequestSigner = (input: SignRequestInput) => Promise<Record<string, string>>;

export function createKmsSigner(clock: Clock): RequestSigner {
  return async ({ method, host, path, body, credential, region }) => {
    const signer = new SignatureV4({
      service: XKS_SIGNING_SERVICE,
      region,
      credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey },
      sha256: Hash.bind(null, 'sha256'),
      applyChecksum: false,
      // Sign the path exactly as sent; valid XKS paths need no escaping.
      uriEscapePath: false,
    });
    const signed = await signer.sign(
      { method, protocol: 'https:', hostname: host, path, query: {}, headers: { host }, body },
      { signingDate: new Date(clock.now()) },
    );
    return { ...signed.headers, 'content-type': 'application/json' };
  };
}
