import type { DecryptRequest, EncryptRequest, MetadataOnlyRequest } from './requests.js';

/**
 * Stage "decode": turns a raw, already-authenticated body into a typed request, or throws an XksError:
 * 400 ValidationException (not JSON, wrong shape, not strict Base64, bad sizes of IV, tag or metadata)
 * or 501 UnsupportedOperationException (above Keyhold's limits). Never touches a key.
 */
export interface RequestDecoder {
  /** GetHealthStatus and GetKeyMetadata carry only `requestMetadata`. */
  metadataOnly(operation: 'GetHealthStatus' | 'GetKeyMetadata', body: Buffer): MetadataOnlyRequest;
  encrypt(body: Buffer): EncryptRequest;
  decrypt(body: Buffer): DecryptRequest;
}
