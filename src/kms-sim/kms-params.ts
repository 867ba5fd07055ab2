/**
 * KMS's own parameter checks, made before any proxy call (docs/kms-client.md#credentials, #create-key).
 * A bad parameter is the KMS API's ValidationException.
 */
import { KmsError } from './kms-error.js';

/** KMS allows no port; the simulator accepts one so it can reach loopback test servers. */
const URI_ENDPOINT = /^https:\/\/[a-zA-Z0-9.-]+(?::\d{1,5})?$/;
const URI_PATH = /^(\/[a-zA-Z0-9/_-]+\/kms\/xks\/v\d{1,2})$|^(\/kms\/xks\/v\d{1,2})$/;
const ACCESS_KEY_ID = /^[A-Z2-7]{20,30}$/;
const SECRET_ACCESS_KEY = /^[a-zA-Z0-9/+=]{43,64}$/;
const XKS_KEY_ID = /^[a-zA-Z0-9\-_.]{1,128}$/;

function validation(message: string): KmsError {
  return new KmsError('ValidationException', message);
}

export function checkStoreName(name: string): void {
  if (name.length < 1 || name.length > 256) throw validation('CustomKeyStoreName must be 1 to 256 characters.');
}

export function checkUriEndpoint(uriEndpoint: string): void {
  if (uriEndpoint.length < 10 || uriEndpoint.length > 128 || !URI_ENDPOINT.test(uriEndpoint)) {
    throw validation(`XksProxyUriEndpoint must match ${URI_ENDPOINT.source} and be 10 to 128 characters.`);
  }
}

export function checkUriPath(uriPath: string): void {
  if (uriPath.length < 10 || uriPath.length > 128 || !URI_PATH.test(uriPath)) {
    throw validation(`XksProxyUriPath must match ${URI_PATH.source} and be 10 to 128 characters.`);
  }
}

/** Never echoes the secret. */
export function checkCredential(credential: { accessKeyId: string; secretAccessKey: string }): void {
  if (!ACCESS_KEY_ID.test(credential.accessKeyId)) {
    throw validation('XksProxyAuthenticationCredential.AccessKeyId must be 20 to 30 characters of A-Z and 2-7.');
  }
  if (!SECRET_ACCESS_KEY.test(credential.secretAccessKey)) {
    throw validation('XksProxyAuthenticationCredential.RawSecretAccessKey must be 43 to 64 characters of a-z, A-Z, 0-9, /, + and =.');
  }
}

export function checkXksKeyId(xksKeyId: string): void {
  if (!XKS_KEY_ID.test(xksKeyId)) throw validation("XksKeyId must be 1 to 128 characters of a-z, A-Z, 0-9, '-', '_' and '.'.");
}

export function checkPlaintextSize(plaintext: Buffer): void {
  if (plaintext.length < 1 || plaintext.length > 4096) throw validation('Plaintext must be 1 to 4096 bytes.');
}
