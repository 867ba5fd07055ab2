/** A simulated AWS KMS for driving any XKS proxy over the wire (kms-behaviour.md §5). */
export { createKmsSimulator, type KmsSimulator, type KmsSimulatorOptions, type BoundProxy, type ConformanceWarning } from './simulator.js';
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
export { createProxyMetrics, classifyForMetrics, type ProxyMetrics, type ProxyCallRecord } from './metrics.js';
export { createHttpsTransport, type ProxyTransport, type TlsOptions } from './transport.js';
export { createKmsSigner, type XksCredential } from './signer.js';
export type { CallProxyOptions, ProxyTarget, RawProxyResult } from './proxy-client.js';
export { encryptBody, decryptBody, healthPath, keyPath } from './xks-calls.js';
export { healthRequestMetadata, createKeyRequestMetadata, cryptoRequestMetadata } from './request-metadata.js';
export { parseBlob, serializeBlob, canonicalEncryptionContext, type EncryptionContext } from './blob.js';
export { computeCdiv } from './cdiv.js';
export { decodeStrictBase64, encodeBase64 } from './base64.js';
export { runDoctor, type DoctorOptions, type DoctorReport, type DoctorCheck } from './doctor.js';
