/** A simulated AWS KMS for driving any XKS proxy over the wire (docs/kms-client.md#simulator). */
export { createKmsSimulator, type KmsSimulatorOptions } from './simulator.js';
export type { KmsSimulator, BoundProxy, ConformanceWarning } from './simulator-api.js';
export type { KeyStoreOperations } from './key-store-operations.js';
export type { KeyOperations } from './key-operations.js';
export type { CryptoOperations } from './crypto-operations.js';
export { KmsError, isKmsError } from './kms-error.js';
export {
  mapProxyOutcome,
  ERROR_MAPPING_TABLE,
  KMS_MESSAGES,
  CREATE_KEY_MESSAGES,
  type ConnectionErrorCode,
  type OperationClass,
  type ProxyOutcome,
} from './error-mapping.js';
export * from './validators.js';
export type { CheckFailure, ValidationOptions, ValidationReport } from './check-log.js';
export { createProxyMetrics, classifyForMetrics, type ProxyMetrics, type ProxyCallRecord } from './metrics.js';
export { createHttpsTransport, type ProxyTransport, type TlsOptions } from './transport.js';
export { createKmsSigner, type XksCredential } from './signer.js';
export type { CallProxyOptions, ProxyTarget, RawProxyResult } from './proxy-client.js';
export { encryptBody, decryptBody, healthPath, keyPath } from './xks-calls.js';
export { healthRequestMetadata, createKeyRequestMetadata, cryptoRequestMetadata } from './request-metadata.js';
export { parseBlob, serializeBlob, canonicalEncryptionContext, type EncryptionContext } from './blob.js';
export { computeCdiv } from './cdiv.js';
export { decodeStrictBase64, encodeBase64 } from './base64.js';
export { runDoctor, type DoctorOptions, type DoctorReport } from './doctor.js';
export type { DoctorCheck } from './doctor-steps.js';
